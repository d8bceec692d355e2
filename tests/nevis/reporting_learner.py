"""Test learners that report through `task.progress`, and one with documented options (for `nevis learners NAME`).

`test_reporting` trains as `test_linear` and reports two trials per task with made-up losses whose values
the tests know: trial t (1, 2) of the task at position p reports, after its step s (1..STEPS),
loss = p + t / 10 + s / 1000.
"""
from __future__ import annotations

import dataclasses
import os

import nevis
from nevis.options import Options, option

from .linear_learner import LinearLearner

STEPS = 4


def made_up_loss(position: int, trial: int, step: int) -> float:
  return position + trial / 10 + step / 1000


@nevis.register_learner("test_reporting")
class ReportingLearner(LinearLearner):
  """test_linear, reporting two trials per task with known losses; raises on $NEVIS_TEST_FAIL_TASK."""

  def train(self, task, state):
    position = [t.name for t in self.tasks].index(task.info.name)
    for trial in (1, 2):
      task.progress.start(f"{task.info.name} trial {trial}", total=STEPS)
      for step in range(1, STEPS + 1):
        task.progress.update(1, loss=made_up_loss(position, trial, step), note="text is shown, not logged")
      task.progress.close()
    if task.info.name == os.environ.get("NEVIS_TEST_FAIL_TASK"):
      raise ValueError(f"cannot train {task.info.name}")
    return super().train(task, state)

  def init(self, ctx):
    self.tasks = ctx.stream_tasks
    return super().init(ctx)


@dataclasses.dataclass(frozen=True)
class Schedule(Options):
  warmup: float = option(0.1, "fraction of the steps spent warming up", minimum=0, maximum=1)


@dataclasses.dataclass(frozen=True)
class DocumentedConfig(Options):
  num_steps: int = option(30, "gradient steps per task", minimum=1)
  optimizer: str = option("sgd", "the update rule", choices=("sgd", "adam"))
  schedule: Schedule = dataclasses.field(default_factory=Schedule, metadata={"doc": "the learning-rate schedule"})


@nevis.register_learner("test_documented")
class DocumentedLearner(nevis.Learner):
  """A learner whose options are documented.

  More lines of doc that the listing leaves out.
  """

  Config = DocumentedConfig

  def init(self, ctx):
    return {}

  def train(self, task, state):
    return state

  def predict(self, task, state, images):
    raise NotImplementedError
