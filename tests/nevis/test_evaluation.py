"""Evaluators: the held-out evaluation scores what the learner predicts, saves the logits, charges `eval`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nevis.evaluation import CurrentTask, Evaluator, HeldOutEvaluator, Scores
from nevis.learner_calls import LearnerCalls, RunTimings
from nevis.meter import ComputeMeter
from nevis.protocol import DataView, Learner
from nevis.resources import ResourceMeter
from nevis.task import SplitData, Task, TaskInfo, TaskKind


class FirstClass(Learner):
  """Predicts class 0 everywhere, with one metered computation per batch."""

  def init(self, ctx):
    return {}

  def train(self, task, state):
    return state

  def predict(self, task, state, images):
    return task.jit(lambda x: x.astype(np.float32)[:, :1, 0, 0] * 0 + np.eye(task.info.num_classes)[0])(images)


def make_task(name: str, labels: list[int]) -> Task:
  info = TaskInfo(name=name, dataset=name, year=2000, kind=TaskKind.SINGLE_LABEL, class_names=("a", "b", "c"),
                  image_shape=(2, 2, 3), source="test")
  split = SplitData(np.zeros((len(labels), 2, 2, 3), np.uint8), np.asarray(labels, np.int32))
  return Task(info, lambda _: split)


def current(tasks: list[Task], position: int, folder: Path) -> CurrentTask:
  task = tasks[position]
  view = DataView(task.load_split("train"), 3, False)
  return CurrentTask(position, task, view, view, key=None, folder=folder)


@pytest.mark.parametrize("evaluate_past, expected", [(False, [(2, 2)]), (True, [(0, 2), (2, 2)])])
def test_the_held_out_split_of_this_task_and_with_evaluate_past_of_those_before(tmp_path, evaluate_past, expected):
  tasks = [make_task("t0", [0, 0, 1, 2]), make_task("t1", [1]), make_task("t2", [0, 1, 1])]
  meter = ComputeMeter()
  calls = LearnerCalls("first_class", meter, ResourceMeter(), RunTimings(), eval_batch_size=2,
                       checkpoint_every_steps=0)
  evaluator = HeldOutEvaluator(FirstClass(), calls, meter, tmp_path, split="test", evaluate_past=evaluate_past,
                               tasks=tasks, skipped={1})
  assert isinstance(evaluator, Evaluator) and not evaluator.before_training
  scores = evaluator.run(current(tasks, 2, tmp_path / "task_2"), {})
  assert isinstance(scores, Scores)
  assert [(e["position"], e["after_position"]) for e in scores.events] == expected  # task 1 skipped
  by_task = {e["task"]: e for e in scores.events}
  assert by_task["t2"]["error"] == pytest.approx(2 / 3) and by_task["t2"]["num_examples"] == 3
  if evaluate_past:
    assert by_task["t0"]["error"] == 0.5
  saved = np.load(tmp_path / by_task["t2"]["predictions_path"])
  assert saved["logits"].shape == (3, 3) and saved["labels"].tolist() == [0, 1, 1]
  assert scores.fields["eval_flops"] == meter.totals.flops["eval"] > 0
  assert meter.totals.flops["train"] == meter.totals.flops["prequential"] == 0
