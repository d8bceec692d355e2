"""Scoring the learner: the evaluator interface, and the evaluation on held-out data after each task.

An evaluator is one way the harness scores the learner on the task at hand (big_vision's evaluators are
the model): the runner calls `run(current, state)` with the state the learner met the task with
(evaluators that score `before_training`) or, once the learner has trained and its state is
checkpointed, with the state it left the task with; `run` returns `Scores`, the fields it adds to the
task's `train` event and the events of its own. The learner's code is called only through
`nevis.learner_calls`, and each evaluator charges its compute to its own category of the meter.

`HeldOutEvaluator` is the evaluation NEVIS reports: the dev_test (or test) split of the task just
trained — and with `evaluate_past` of every task before it, the error matrix — fed to `learner.predict`
and scored by the harness; the logits are saved beside the results so they can be rescored.
Prequential code lengths are evaluators too (`nevis.prequential`).
"""
from __future__ import annotations

import abc
import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nevis.learner_calls import LearnerCalls
from nevis.meter import ComputeMeter
from nevis.metrics import classification
from nevis.protocol import DataView, Learner, TrainingTask
from nevis.run_support import npz_bytes
from nevis.task import Task
from nevis.workdir import atomic_write_bytes


@dataclasses.dataclass
class CurrentTask:
  """The task the runner is on, as evaluators see it (the learner sees `training` only)."""

  position: int
  task: Task
  train: DataView  # the learner's training data (capped with max_train_per_class)
  dev: DataView
  key: Any  # the task's PRNG key
  folder: Path  # its within-task checkpoints and partial scores, removed once the task is recorded
  training: TrainingTask | None = None  # what the learner was handed, once it has trained


@dataclasses.dataclass
class Scores:
  """What an evaluator adds to the record of one task."""

  fields: dict = dataclasses.field(default_factory=dict)  # columns of the task's train event
  events: list[dict] = dataclasses.field(default_factory=list)  # rows of their own (eval events)


class Evaluator(abc.ABC):
  """One way of scoring the learner on the task at hand."""

  #: True: run with the state the learner met the task with, before it trains; False: after, with the
  #: state it left the task with (as checkpointed).
  before_training: ClassVar[bool] = False

  @abc.abstractmethod
  def run(self, current: CurrentTask, state) -> Scores:
    ...


class HeldOutEvaluator(Evaluator):
  """The held-out split of the task just trained, and with `evaluate_past` of every task before it."""

  def __init__(self, learner: Learner, calls: LearnerCalls, meter: ComputeMeter, workdir: Path, *, split: str,
               evaluate_past: bool, tasks: list[Task], skipped: set[int]):
    self.learner = learner
    self.calls = calls
    self.meter = meter
    self.workdir = workdir
    self.split = split
    self.evaluate_past = evaluate_past
    self.tasks = tasks
    self.skipped = skipped

  def run(self, current: CurrentTask, state) -> Scores:
    after = current.position
    positions = [j for j in range(after) if j not in self.skipped] if self.evaluate_past else []
    positions.append(after)
    scored = [self._evaluate(state, self.tasks[j], j, after) for j in positions]
    # Summed per evaluation, in this order, so that the float total is the one recorded before.
    return Scores(fields={"eval_flops": sum(flops for _, flops in scored)}, events=[event for event, _ in scored])

  def _evaluate(self, state, task: Task, position: int, after: int) -> tuple[dict, float]:
    split = task.load_split(self.split)
    before = self.meter.totals.flops["eval"]
    started = time.perf_counter()
    with self.meter.charging("eval"):
      logits = self.calls.predict(self.learner, state, task.info, split.images)
    multi = task.info.multi_label
    path = Path("predictions") / f"after_{after:03d}_task_{position:03d}_{self.split}.npz"
    atomic_write_bytes(self.workdir / path, npz_bytes(logits=logits, labels=np.asarray(split.labels)))
    event = dict(
        event="eval",
        position=position,
        task=task.info.name,
        after_position=after,
        split=self.split,
        error=classification.task_error(logits, split.labels, multi_label=multi),
        log_loss=classification.mean_log_loss(logits, split.labels, multi_label=multi),
        num_examples=len(split),
        wall_time_s=time.perf_counter() - started,
        predictions_path=str(path),
    )
    return event, self.meter.totals.flops["eval"] - before
