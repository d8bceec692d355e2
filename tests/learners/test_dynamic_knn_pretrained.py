"""The Dynamic (kNN-selected start) and Pretrained baselines, through the runner on tiny tasks."""
import dataclasses
import json

import numpy as np
import pytest

import nevis
from nevis import config as config_lib
from nevis.errors import UserError
from nevis.learners.dynamic_knn import FRESH
from nevis.learners.knn import knn_error
from nevis.runner import Runner

TINY = {"width": 4, "blocks_per_stage": [1], "image_size": 8, "num_steps": 4, "learning_rates": [0.1],
        "max_batch": 16, "eval_batch_size": 32}


def run(tmp_path, name, learner, **learner_options):
  config = config_lib.resolve({
      "stream": "synthetic", "stream_options": {"num_tasks": 3, "examples_per_class": 12},
      "learner": learner, "learner_options": {**TINY, **learner_options}, "eval_batch_size": 32,
  })
  Runner(config, tmp_path / name, progress=False).run()
  return nevis.load_results(tmp_path / name)


def test_knn_error_by_hand():
  # 3 dev examples, k=3: votes [0,0,1] -> 0; [1,2,2] -> 2; [2,1,0] -> tie, nearest (2) wins
  neighbours = np.array([[0, 0, 1], [1, 2, 2], [2, 1, 0]])
  assert knn_error(neighbours, np.array([0, 2, 2]), 3, multi_label=False) == 0.0
  assert knn_error(neighbours, np.array([1, 2, 0]), 3, multi_label=False) == pytest.approx(2 / 3)
  multi = np.array([[[1, 0], [1, 1]], [[0, 1], [0, 1]]])  # neighbour label vectors
  assert knn_error(multi, np.array([[1, 0], [0, 1]]), 2, multi_label=True) == 0.0  # mAP 1


def test_dynamic_knn_scores_every_earlier_backbone_and_a_fresh_one(tmp_path):
  results = run(tmp_path, "dknn", "dynamic_knn")
  notes = [json.loads(i) for i in results.tasks["info"]]
  candidates = [set(n["dynamic_knn"]["knn_dev_error"]) for n in notes]
  assert candidates[0] == set() and notes[0]["dynamic_knn"]["start_from"] == FRESH  # nothing to compare
  assert candidates[2] == {FRESH, results.tasks["task"][0], results.tasks["task"][1]}
  for n in notes[1:]:
    scores = n["dynamic_knn"]["knn_dev_error"]
    assert n["dynamic_knn"]["start_from"] == min(scores, key=lambda k: (scores[k], k == FRESH))
  assert (results.tasks["train_flops"] > 0).all()


def test_dynamic_knn_dm_nevis_options_never_start_fresh_after_the_first_task(tmp_path):
  results = run(tmp_path, "dknn", "dynamic_knn", knn_fresh="first_task", knn_embedding="train",
                knn_train_examples=20, knn_dev_examples=7)
  notes = [json.loads(i)["dynamic_knn"] for i in results.tasks["info"]]
  assert notes[0] == {"knn_dev_error": {}, "start_from": FRESH}
  assert notes[1]["start_from"] == results.tasks["task"][0] and set(notes[1]["knn_dev_error"]) == set()
  assert set(notes[2]["knn_dev_error"]) == {results.tasks["task"][0], results.tasks["task"][1]}
  # 7 dev examples scored: every error is a multiple of 1/7.
  assert all(round(7 * e, 6) == round(7 * e) for e in notes[2]["knn_dev_error"].values())


def test_pretrained_starts_every_task_from_the_given_run(tmp_path):
  source = run(tmp_path, "source", "previous")
  results = run(tmp_path, "pretrained", "pretrained", pretrained_from=str(source.workdir))
  notes = [json.loads(i) for i in results.tasks["info"]]
  assert all(n["pretrained_from"] == str(source.workdir) for n in notes)
  assert len(results.tasks) == 3
  # The source run's training compute is this run's pretraining compute, read from its results.
  assert results.meta["pretraining"]["flops"] == source.meta["meter"]["flops"]["train"] > 0


def test_pretrained_refuses_a_missing_or_mismatched_backbone(tmp_path):
  # The harness finds it first: it reads the source run's results for its compute (nevis.pretraining).
  with pytest.raises(UserError, match="holds no results"):
    run(tmp_path, "a", "pretrained", pretrained_from=str(tmp_path / "nowhere"))
  source = run(tmp_path, "source", "previous")
  with pytest.raises(UserError, match="does not match width=8"):
    run(tmp_path, "b", "pretrained", pretrained_from=str(source.workdir), width=8)


def test_pretrained_can_start_with_fresh_batch_norm_statistics(tmp_path):
  import jax

  from nevis.learners.pretrained import PretrainedLearner, load_backbone
  from nevis.protocol import CheckpointHook, DataView, Progress, TrainingTask
  from nevis.task import SplitData, TaskInfo, TaskKind

  source = run(tmp_path, "source", "previous")
  pretrained = load_backbone(str(source.workdir))
  split = SplitData(np.zeros((4, 8, 8, 3), np.uint8), np.zeros(4, np.int32))
  info = TaskInfo("t", "t", 2000, TaskKind.SINGLE_LABEL, ("a", "b"), (8, 8, 3))
  task = TrainingTask(info, DataView(split, 2, False), DataView(split, 2, False), jax.random.key(0), jax.jit,
                      Progress(), CheckpointHook())
  options = {k: v for k, v in TINY.items() if k in {f.name for f in dataclasses.fields(PretrainedLearner.Config)}}
  for reset in (False, True):
    learner = PretrainedLearner(**options, pretrained_from=str(source.workdir), reset_batch_stats=reset)
    start = learner.initial_backbone(task, learner.init(None))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(start["params"]),
                                                    jax.tree.leaves(pretrained["params"])))
    means = [np.asarray(v) for path, v in jax.tree_util.tree_leaves_with_path(start["batch_stats"])
             if path[-1].key == "mean"]
    assert all((m == 0).all() for m in means) == reset  # fresh statistics are zero means (and unit variances)
