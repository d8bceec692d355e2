"""The in-memory `synthetic` stream: shapes, determinism, learnability, options."""
from __future__ import annotations

import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.registry import STREAMS
from nevis.streams.synthetic import synthetic_stream
from nevis.task import SPLITS, TaskKind


def _all(stream):
  return {task.name: {split: task.load_split(split) for split in SPLITS} for task in stream}


def test_registered_under_its_name():
  assert STREAMS.get("synthetic") is synthetic_stream


def test_default_tasks_shapes_and_counts():
  stream = synthetic_stream()
  assert [(t.name, t.info.year, t.info.num_classes) for t in stream] == [
      ("synthetic_0", 2000, 3), ("synthetic_1", 2001, 3), ("synthetic_2", 2002, 3)]
  for task in stream:
    assert task.info.image_shape == (8, 8, 3) and task.info.kind == TaskKind.SINGLE_LABEL
    for split, per_class in zip(SPLITS, (16, 8, 8, 8)):
      data = task.load_split(split)
      assert data.images.shape == (3 * per_class, 8, 8, 3) and data.images.dtype == np.uint8
      assert data.labels.dtype == np.int32
      np.testing.assert_array_equal(np.bincount(data.labels), [per_class] * 3)
      assert not data.images.flags.writeable


def test_options_set_classes_sizes_and_a_multi_label_task():
  stream = synthetic_stream(num_tasks=2, image_size=6, num_classes=(2, 5), multi_label_task=True,
                            examples_per_class={"train": 4, "dev": 1, "dev_test": 2, "test": 3})
  assert [t.name for t in stream] == ["synthetic_0", "synthetic_1", "synthetic_multi_label"]
  assert [t.info.num_classes for t in stream] == [2, 5, 4]
  assert len(stream.tasks[1].load_split("test")) == 15
  multi = stream.tasks[2]
  assert multi.info.kind == TaskKind.MULTI_LABEL and multi.info.year == 2002
  data = multi.load_split("train")
  assert data.images.shape == (16, 6, 6, 3)
  assert data.labels.shape == (16, 4) and data.labels.dtype == np.uint8
  assert set(np.unique(data.labels)) <= {0, 1}


def test_deterministic_given_seed_and_independent_of_load_order():
  first = _all(synthetic_stream(multi_label_task=True, seed=3))
  stream = synthetic_stream(multi_label_task=True, seed=3)
  reversed_order = {t.name: {s: t.load_split(s) for s in reversed(SPLITS)} for t in reversed(stream.tasks)}
  other_seed = _all(synthetic_stream(multi_label_task=True, seed=4))
  for name in first:
    for split in SPLITS:
      np.testing.assert_array_equal(first[name][split].images, reversed_order[name][split].images)
      np.testing.assert_array_equal(first[name][split].labels, reversed_order[name][split].labels)
      assert not np.array_equal(first[name][split].images, other_seed[name][split].images)


def test_tasks_are_learnable_but_not_trivial():
  for task in synthetic_stream(num_tasks=2, num_classes=(3, 6)):
    train, test = task.load_split("train"), task.load_split("test")
    x_train = train.images.reshape(len(train), -1).astype(float)
    x_test = test.images.reshape(len(test), -1).astype(float)
    centroids = np.stack([x_train[train.labels == k].mean(0) for k in range(task.info.num_classes)])
    predicted = np.argmin(((x_test[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == test.labels).mean() >= 0.9  # nearest class mean: learnable
    assert len(np.unique(test.images)) > 50  # noisy images, not a lookup table of prototypes


def test_multi_label_task_is_learnable():
  task = synthetic_stream(num_tasks=0, multi_label_task=True).tasks[0]
  train, test = task.load_split("train"), task.load_split("test")
  for label in range(task.info.num_classes):
    present = train.images[train.labels[:, label] == 1].mean(0)
    absent = train.images[train.labels[:, label] == 0].mean(0)
    direction = (present - absent).ravel()
    threshold = direction @ ((present + absent) / 2).ravel()
    scores = test.images.reshape(len(test), -1).astype(float) @ direction
    assert ((scores > threshold) == test.labels[:, label]).mean() >= 0.9


def test_rejects_bad_options():
  with pytest.raises(ConfigError, match="unknown key 'num_task'.*did you mean 'num_tasks'"):
    synthetic_stream(num_task=2)
  with pytest.raises(ConfigError, match="2 entries for 3 tasks"):
    synthetic_stream(num_classes=(2, 3))
  with pytest.raises(ConfigError, match="num_classes must be >= 2"):
    synthetic_stream(num_classes=1)
  with pytest.raises(ConfigError, match="a count for each"):
    synthetic_stream(examples_per_class={"train": 3})
  with pytest.raises(ConfigError, match="multi_label_task must be true or false"):
    synthetic_stream(multi_label_task="yes")


def test_tasks_pickle_for_worker_processes():
  import pickle

  task = synthetic_stream(multi_label_task=True).tasks[-1]
  copy = pickle.loads(pickle.dumps(task))
  np.testing.assert_array_equal(copy.load_split("dev").labels, task.load_split("dev").labels)
