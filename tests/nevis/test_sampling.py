"""The per-class caps of the low-data regime (`max_train_per_class`, `max_dev_per_class`): which examples a run
sees depends only on the task and the run's seed, so two learners run with one seed see the same examples."""
from __future__ import annotations

import numpy as np

from nevis import config as config_lib
from nevis.sampling import cap_per_class, learner_views
from tests.nevis import linear_learner


def test_capped_views_are_a_function_of_the_task_and_the_seed():
  task = linear_learner._colour_task("t", 2000, 4, seed=3)

  def views(seed, learner):
    config = config_lib.resolve({"learner": learner, "seed": seed, "max_train_per_class": 5, "max_dev_per_class": 2,
                                 "imports": ["tests.nevis.linear_learner"]})
    return learner_views(task, config)

  train, dev = views(0, "test_linear")
  assert np.bincount(train.labels).tolist() == [5, 5, 5, 5] and np.bincount(dev.labels).tolist() == [2, 2, 2, 2]
  other_train, other_dev = views(0, "knn")  # another learner, the same seed: the same examples
  np.testing.assert_array_equal(train.images, other_train.images)
  np.testing.assert_array_equal(dev.images, other_dev.images)
  next_train, _ = views(1, "test_linear")
  assert not np.array_equal(train.images, next_train.images)
  # The cap keeps the first `cap` examples of each class in one seeded order of the split.
  labels = np.repeat(np.arange(3), 4)
  order = np.random.default_rng([7, 11]).permutation(12)
  expected = sorted(np.concatenate([[i for i in order if labels[i] == c][:2] for c in range(3)]).tolist())
  assert cap_per_class(labels, 2, multi_label=False, seed=7).tolist() == expected
