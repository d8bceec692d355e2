"""The floor learners: `knn` on a hand-built set and `linear`, alone and through the runner (metered)."""
from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import nevis
from nevis import config as config_lib
from nevis.errors import ConfigError
from nevis.learners.knn import KnnLearner
from nevis.learners.linear import LinearLearner
from nevis.protocol import CheckpointHook, DataView, Progress, TrainingTask
from nevis.registry import LEARNERS
from nevis.runner import Runner
from nevis.task import SplitData, TaskInfo, TaskKind


def grey(values, labels) -> SplitData:
  """Flat grey 4x4 images of the given pixel values."""
  images = np.repeat(np.asarray(values, np.uint8)[:, None, None, None], 16, axis=1).reshape(-1, 4, 4, 1)
  return SplitData(images, np.asarray(labels, np.int32))


def task_of(train: SplitData, dev: SplitData, num_classes: int) -> TrainingTask:
  info = TaskInfo("t", "t", 2000, TaskKind.SINGLE_LABEL, tuple(f"c{i}" for i in range(num_classes)), (4, 4, 1))
  return TrainingTask(info, DataView(train, num_classes, False), DataView(dev, num_classes, False),
                      jax.random.key(0), jax.jit, Progress(), CheckpointHook())


def test_knn_chooses_k_on_dev_and_votes_as_computed_by_hand():
  # Class 0 at 0, 10, 20; class 1 at 100, 110 and an outlier at 45. Dev 40 (class 0): its neighbours are
  # 45 (1), 20 (0), 10 (0), 0 (0), 100 (1), so k=1 errs and k=3, 5 are right; dev 105 (class 1) is right
  # for every k. Dev errors 1/2, 0, 0: k=3 wins the tie with 5 as the smaller.
  train = grey([0, 10, 20, 100, 110, 45], [0, 0, 0, 1, 1, 1])
  learner = KnnLearner(image_size=4, k_values=[1, 3, 5], eval_batch_size=4)
  task = task_of(train, grey([40, 105], [0, 1]), 2)
  state = learner.train(task, learner.init(None))
  assert task.notes["selection"]["dev_error"] == [0.5, 0.0, 0.0]
  assert task.notes["selection"]["chosen"] == {"k": 3}
  logits = learner.predict(task.for_prediction(), state, grey([40, 105], [0, 1]).images)
  # 40 with k=3: votes class 0: 2, class 1: 1 + 1/2 (the nearest, 45, is class 1); smoothed by 1/K = 1/2
  # over k + 3/2 = 4.5. 105: neighbours 100, 110, 45, all class 1, nearest 100.
  np.testing.assert_allclose(np.exp(logits[0]), [2.5 / 4.5, 2.0 / 4.5], rtol=1e-5)
  np.testing.assert_allclose(np.exp(logits[1]), [0.5 / 4.5, 4.0 / 4.5], rtol=1e-5)


def test_knn_random_features_and_config_errors():
  learner = KnnLearner(features="random", random_features=64, image_size=4, k_values=[1], eval_batch_size=4)
  state = learner.init(None)
  assert state["projection"].shape == (48, 64)
  np.testing.assert_array_equal(state["projection"], KnnLearner(features="random", random_features=64,
                                                                image_size=4).init(None)["projection"])
  task = task_of(grey([0, 10, 200, 250], [0, 0, 1, 1]), grey([5, 240], [0, 1]), 2)
  state = learner.train(task, state)
  features = state["memory"]["t"]["features"]
  np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-5)
  assert np.argmax(learner.predict(task.for_prediction(), state, grey([5, 240], [0, 1]).images), 1).tolist() == [0, 1]
  with pytest.raises(ConfigError, match="features"):
    KnnLearner(features="sift")
  with pytest.raises(ConfigError, match="k_values"):
    KnnLearner(k_values=[0])


def test_linear_standardises_and_separates_colours():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 3, 96)
  values = np.array([40, 120, 200])[labels] + rng.normal(0, 8, 96)
  train = grey(np.clip(values, 0, 255), labels)
  dev_labels = rng.integers(0, 3, 30)
  dev = grey(np.clip(np.array([40, 120, 200])[dev_labels] + rng.normal(0, 8, 30), 0, 255), dev_labels)
  learner = LinearLearner(image_size=4, num_steps=200, batch_size=16, learning_rate=0.05, l2_values=[0.0, 1.0],
                          eval_batch_size=32)
  task = task_of(train, dev, 3)
  state = learner.train(task, learner.init(None))
  model = state["models"]["t"]
  pixels = train.images.astype(np.float64).reshape(96, -1) / 127.5 - 1.0
  pixels = np.repeat(pixels, 3, axis=1)  # grey -> RGB, flattened pixel-major as (H, W, C)
  np.testing.assert_allclose(model["mean"], pixels.mean(0), atol=1e-5)
  np.testing.assert_allclose(model["scale"], 1 / np.sqrt(pixels.var(0) + 1e-2), rtol=1e-4)
  notes = task.notes["selection"]
  assert len(notes["dev_error"]) == 2 and notes["dev_error"][notes["selected"]] == 0.0
  logits = learner.predict(task.for_prediction(), state, dev.images)
  assert logits.shape == (30, 3) and np.mean(logits.argmax(1) != dev.labels) == 0.0


@pytest.mark.parametrize("learner", ["linear", "knn"])
def test_floor_learners_run_metered_through_the_runner(tmp_path, learner):
  assert learner in LEARNERS.names()
  options = {"num_steps": 20} if learner == "linear" else {}
  config = config_lib.resolve({
      "stream": "synthetic", "stream_options": {"num_tasks": 2, "examples_per_class": 12},
      "learner": learner, "learner_options": {**options, "image_size": 8, "eval_batch_size": 32},
      "eval_batch_size": 32,
  })
  Runner(config, tmp_path / learner, progress=False).run()
  results = nevis.load_results(tmp_path / learner)
  assert (results.tasks["train_flops"] > 0).all() and results.summary()["total_eval_flops"] > 0
  assert all("selection" in json.loads(info) for info in results.tasks["info"])
