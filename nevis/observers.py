"""What a run reports as it goes, to whoever watches it: the progress display, `events.jsonl`, the loggers.

The runner tells one `RunObservers` what happens (a task starts, the learner advances a trial, a task's
scores are recorded, the run ends) and it tells every observer in turn. Watching must never stop a run: an
observer that raises is dropped with one warning line and the run goes on.

The learner's side is `task.progress` (`nevis.protocol.Progress`): each `start(description, total)` begins
a *trial* (in the built-in learners, one hyper-parameter trial), `update(n, loss=...)` advances it by `n`
steps with what the learner wants watched (numbers are logged; `close()` ends it. Steps are counted over
the whole run (`learner_step`, kept with each finished task so that a resumed run counts on from there).
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time

from nevis.protocol import Progress
from nevis.task import TaskInfo

# The per-task numbers observers get (when the run measured them), from the task's recorded events.
TRAIN_SCALARS = ("train_flops", "cumulative_train_flops", "preq_bits", "preq_bits_per_example", "wall_time_s")
EVAL_SCALARS = ("error", "log_loss", "num_examples")


@dataclasses.dataclass(frozen=True)
class RunStart:
  workdir: str
  config: dict
  tasks: tuple[TaskInfo, ...]
  completed: int  # tasks finished before this process started (a resumed run)
  resumed: bool
  learner_step: int  # the learner's steps counted before this process started


@dataclasses.dataclass(frozen=True)
class Trial:
  position: int
  task: TaskInfo
  number: int  # 1, 2, ... within the task and phase
  phase: str  # "train", or "prequential" for the trainings that score a task's code length
  description: str
  total: int | None  # steps, when the learner said


@dataclasses.dataclass(frozen=True)
class TaskEnd:
  position: int
  task: TaskInfo
  scalars: dict  # name -> number: TRAIN_SCALARS and EVAL_SCALARS that the run measured


class RunObserver:
  """Watches a run. Every method is optional; none may change what the run does."""

  def run_started(self, start: RunStart) -> None: ...

  def task_started(self, position: int, task: TaskInfo) -> None: ...

  def trial_started(self, trial: Trial) -> None: ...

  def trial_advanced(self, trial: Trial, steps: int, learner_step: int, values: dict) -> None:
    """`steps` more steps of `trial`; `learner_step` counts the run's steps after them; `values` is what the
    learner reported with them (e.g. {"loss": 0.3}; numbers and text), often empty."""

  def trial_finished(self, trial: Trial, steps: int, seconds: float, values: dict) -> None:
    """`values`: the last the learner reported in this trial."""

  def task_finished(self, end: TaskEnd) -> None: ...

  def task_skipped(self, position: int, task: TaskInfo, reason: str) -> None: ...

  def run_finished(self, status: str, error: str | None) -> None:
    """`status`: complete, failed or interrupted; `error`: the one-line reason."""

  def close(self) -> None: ...


class RunObservers(RunObserver):
  """Every observer of a run, told in turn; keeps the trial bookkeeping (numbers, steps, time)."""

  def __init__(self, observers: list[RunObserver]):
    self._observers = list(observers)
    self.learner_step = 0
    self._task: tuple[int, TaskInfo] | None = None
    self._trials: dict[str, int] = {}

  def _tell(self, method: str, *args) -> None:
    for observer in list(self._observers):
      try:
        getattr(observer, method)(*args)
      except Exception as e:  # a full disk under the log, a logger's bug: the run matters more
        self._observers.remove(observer)
        print(f"nevis: warning: {type(observer).__name__} stopped ({type(e).__name__}: {e}); the run goes on "
              "without it", file=sys.stderr)

  def run_started(self, start: RunStart) -> None:
    self.learner_step = start.learner_step
    self._tell("run_started", start)

  def task_started(self, position: int, task: TaskInfo) -> None:
    self._task, self._trials = (position, task), {}
    self._tell("task_started", position, task)

  def task_finished(self, end: TaskEnd) -> None:
    self._tell("task_finished", end)

  def task_skipped(self, position: int, task: TaskInfo, reason: str) -> None:
    self._tell("task_skipped", position, task, reason)

  def run_finished(self, status: str, error: str | None) -> None:
    self._tell("run_finished", status, error)

  def close(self) -> None:
    self._tell("close")

  def learner_progress(self, phase: str = "train") -> Progress:
    """The `task.progress` the learner is handed for the current task."""
    return TrialProgress(self, phase)

  # -- from TrialProgress ---------------------------------------------------------------------------
  def _start_trial(self, phase: str, description: str, total: int | None) -> Trial:
    position, task = self._task if self._task is not None else (-1, None)
    self._trials[phase] = number = self._trials.get(phase, 0) + 1
    trial = Trial(position, task, number, phase, description, total)
    self._tell("trial_started", trial)
    return trial

  def _advance(self, trial: Trial, steps: int, values: dict) -> None:
    if trial.phase == "train":
      self.learner_step += steps
    self._tell("trial_advanced", trial, steps, self.learner_step, values)

  def _finish_trial(self, trial: Trial, steps: int, seconds: float, values: dict) -> None:
    self._tell("trial_finished", trial, steps, seconds, values)


class TrialProgress(Progress):
  """`task.progress` in a run: the learner's trials, told to the run's observers."""

  def __init__(self, observers: RunObservers, phase: str):
    self._observers = observers
    self._phase = phase
    self._trial: Trial | None = None
    self._steps, self._started, self._values = 0, 0.0, {}

  def start(self, description: str, total: int | None = None) -> None:
    self.close()
    self._trial = self._observers._start_trial(self._phase, str(description), total)
    self._steps, self._started, self._values = 0, time.perf_counter(), {}

  def update(self, n: int = 1, **postfix) -> None:
    if self._trial is None:  # a learner that reports steps without starting a trial
      self.start("training")
    self._steps += n
    if postfix:
      self._values.update(postfix)
    self._observers._advance(self._trial, n, postfix)

  def close(self) -> None:
    if self._trial is not None:
      trial, self._trial = self._trial, None
      self._observers._finish_trial(trial, self._steps, time.perf_counter() - self._started, dict(self._values))


def numbers(values: dict) -> dict[str, float]:
  """The finite numbers among `values` (what loggers and events.jsonl keep), as floats."""
  out = {}
  for key, value in values.items():
    try:
      number = float(value)
    except (TypeError, ValueError):
      continue
    if not isinstance(value, (str, bytes)) and math.isfinite(number):
      out[str(key)] = number
  return out


def task_scalars(events: list[dict], position: int) -> dict[str, float]:
  """The task's numbers from its recorded events: the train event's and the task's own evaluation's."""
  scalars = {}
  for event in events:
    if event.get("event") == "train":
      scalars.update(numbers({k: event.get(k) for k in TRAIN_SCALARS if event.get(k) is not None}))
    elif event.get("event") == "eval" and event.get("position") == position:
      scalars.update(numbers({k: event.get(k) for k in EVAL_SCALARS if event.get(k) is not None}))
  return scalars
