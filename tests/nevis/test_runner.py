"""The runner end to end on tiny in-memory tasks."""
import gc

import numpy as np
import pytest

import nevis
from nevis import config as config_lib
from nevis.runner import Runner
from nevis.sampling import cap_per_class

from . import linear_learner  # registers test_linear and test_colours


def run(tmp_path, **overrides):
  cfg = config_lib.resolve({"stream": "test_colours", "learner": "test_linear", "imports": ["tests.nevis.linear_learner"],
                            **overrides})
  workdir = tmp_path / "w"
  Runner(cfg, workdir, progress=False).run()
  return nevis.load_results(workdir)


def test_run_records_every_task_with_metered_compute(tmp_path):
  results = run(tmp_path)
  t = results.tasks
  assert list(t["task"]) == ["colours_0", "colours_1", "colours_2"]
  assert (t["error"] < 0.5).all()  # colour classes are easy; chance is >= 0.67
  assert (t["train_flops"] > 0).all() and (t["eval_flops"] > 0).all()
  # The same compiled step runs the same number of times per task, so each task costs the same.
  assert np.allclose(t["train_flops"], t["train_flops"][0])
  assert np.allclose(t["cumulative_train_flops"], np.cumsum(t["train_flops"]))
  assert list(t["num_examples"]) == [72, 96, 120]  # dev_test: 24 per class
  assert list(t["train_examples"]) == [144, 192, 240]
  assert (t["parameter_count"] > 0).all()
  assert results.meta["status"] == "complete"
  assert results.meta["config"]["learner"] == "test_linear"
  assert set(results.meta["versions"]) >= {"jax", "flax", "optax", "numpy", "nevis"}
  # Raw predictions are kept and rescore to the recorded error.
  row = results.evaluations.iloc[-1]
  saved = np.load(results.workdir / row["predictions_path"])
  assert saved["logits"].shape == (120, 5)
  assert np.mean(saved["logits"].argmax(1) != saved["labels"]) == pytest.approx(row["error"])


def test_training_flops_are_the_step_count_times_calls(tmp_path):
  """The meter charges each call the XLA count of its compiled signature: 30 steps = 30 x one step."""
  from nevis.metrics.flops import count_flops

  results = run(tmp_path, learner_options={"num_steps": 30})
  params = {"w": np.zeros((6, 16), np.float32), "b": np.zeros((16,), np.float32)}
  images = np.zeros((16, 8, 8, 3), np.uint8)
  one_step = count_flops(
      linear_learner._train_step, (params, images, np.zeros(16, np.int32), np.ones(16, bool), np.float32(0.5))
  )
  assert one_step > 2 * 16 * 6 * 16  # at least the forward matmul
  assert results.tasks["train_flops"][0] == pytest.approx(30 * one_step)


def test_evaluate_past_fills_the_error_matrix(tmp_path):
  results = run(tmp_path, evaluate_past=True)
  matrix = results.error_matrix()
  names = ["colours_0", "colours_1", "colours_2"]
  assert list(matrix.index) == names and list(matrix.columns) == names  # labelled: after training x scored
  e = matrix.to_numpy()
  assert e.shape == (3, 3)
  assert np.isfinite(e[np.tril_indices(3)]).all() and np.isnan(e[np.triu_indices(3, 1)]).all()
  own = results.evaluations[results.evaluations.position == results.evaluations.after_position]
  assert [matrix.loc[n, n] for n in names] == list(own.sort_values("position")["error"])
  assert len(results.evaluations) == 6
  assert "average_forgetting" in results.summary()


def test_evaluating_on_test_uses_the_test_split(tmp_path):
  results = run(tmp_path, evaluate_on="test")
  assert set(results.evaluations["split"]) == {"test"}
  assert list(results.tasks["num_examples"]) == [72, 96, 120]


def test_blockwise_prequential_beats_the_uniform_code(tmp_path):
  results = run(tmp_path, prequential="blockwise")
  t = results.tasks
  assert (t["prequential"] == "blockwise").all()
  assert (t["preq_ratio"] < 1.0).all() and (t["preq_ratio"] > 0).all()
  assert (t["prequential_flops"] > 0).all()
  import json

  assert json.loads(t["chunk_boundaries"][0]) == [10, 20, 40, 80, 144]
  n, k = 144, 3
  assert t["preq_bits"][0] == pytest.approx(t["preq_ratio"][0] * n * np.log2(k))


def test_online_prequential_uses_scores_before_updates(tmp_path):
  results = run(tmp_path, prequential="online", learner_options={"num_steps": 20, "learning_rate": 5.0})  # 20*16 >= 240
  t = results.tasks
  assert (t["prequential"] == "online").all()
  assert (t["preq_ratio"] < 1.0).all()
  assert (t["prequential_flops"] == 0).all()  # scored inside training, charged to training


def test_online_prequential_needs_a_full_pass(tmp_path):
  with pytest.raises(nevis.UserError, match="online prequential"):
    run(tmp_path, prequential="online", learner_options={"num_steps": 2})


def test_max_train_per_class_caps_training_data(tmp_path):
  seen = []

  class Spy(linear_learner.LinearLearner):
    def train(self, task, state):
      seen.append((len(task.train), len(task.dev), np.bincount(task.dev.labels).tolist()))
      return super().train(task, state)

  nevis.register_learner("test_cap_spy")(Spy)
  results = run(tmp_path, learner="test_cap_spy", max_train_per_class=5, max_dev_per_class=2)
  assert list(results.tasks["train_examples"]) == [15, 20, 25]
  assert seen == [(15, 6, [2, 2, 2]), (20, 8, [2, 2, 2, 2]), (25, 10, [2, 2, 2, 2, 2])]


def test_cap_per_class_multi_label_covers_every_label():
  labels = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 0], [1, 0, 0]], np.uint8)
  keep = cap_per_class(labels, 1, multi_label=True, seed=0)
  assert (labels[keep].sum(0) >= 1).all()
  single = cap_per_class(np.array([0, 0, 0, 1, 1, 2]), 2, multi_label=False, seed=0)
  assert sorted(np.bincount(np.array([0, 0, 0, 1, 1, 2])[single]).tolist()) == [1, 2, 2]


def test_a_learner_cannot_reach_test_data(tmp_path):
  """Everything reachable from what the learner receives is searched for the test split's marker."""
  seen_objects = []

  class Spy(linear_learner.LinearLearner):
    def train(self, task, state):
      seen_objects.append(task)
      return super().train(task, state)

  nevis.register_learner("test_spy")(Spy)
  run(tmp_path, learner="test_spy", stream_options={"num_tasks": 1})
  task = seen_objects[0]
  assert not any(hasattr(task, name) for name in ("test", "dev_test", "load_split"))
  arrays = _reachable_arrays(task)
  assert arrays, "the search must at least find the train images"
  marker_rows = [a for a in arrays if a.dtype == np.uint8 and a.ndim == 4 and (a[:, 0, 0, :] == 1).all(axis=-1).any()]
  assert not marker_rows


def _reachable_arrays(root):
  import types

  stop = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)
  seen, queue, arrays = set(), [root], []
  while queue:
    obj = queue.pop()
    if id(obj) in seen or isinstance(obj, stop):
      continue
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
      arrays.append(obj)
      continue
    queue.extend(gc.get_referents(obj))
  return arrays


def test_unmetered_training_is_rejected(tmp_path):
  with pytest.raises(nevis.UserError, match=r"ran <lambda> \(.*linear_learner.py:\d+\) with plain jax.jit during train"):
    run(tmp_path, learner="test_unmetered")
