"""How a run shows its progress: bars (tqdm) on a terminal, plain lines elsewhere, or nothing.

`--progress bar|plain|none`; without it, bars when the error stream is a terminal and plain lines when it
is not (a batch job's log file, a pipe). Plain lines hold no escape codes: one per trial of the learner
and one per task, each with the time of day, written to the error stream as they happen.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from nevis.observers import RunObserver, RunStart, TaskEnd, Trial, numbers
from nevis.task import TaskInfo

MODES = ("bar", "plain", "none")


def resolve_mode(progress: bool | str | None, stream: TextIO | None = None) -> str:
  """"bar", "plain" or "none" from a `--progress` value (None or True: bars on a terminal, else plain)."""
  if progress is False:
    return "none"
  if progress is None or progress is True or progress == "auto":
    stream = stream if stream is not None else sys.stderr
    return "bar" if getattr(stream, "isatty", lambda: False)() else "plain"
  if progress not in MODES:
    raise ValueError(f"progress must be one of {', '.join(MODES)} or auto, got {progress!r}")
  return progress


def display(progress: bool | str | None) -> RunObserver | None:
  mode = resolve_mode(progress)
  return {"bar": BarDisplay, "plain": PlainDisplay}.get(mode, lambda: None)()


def _task_label(position: int, total: int, task: TaskInfo) -> str:
  return f"task {position + 1}/{total} {task.name} ({task.year})"


def _number(value: float) -> str:
  return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"


class PlainDisplay(RunObserver):
  """One line per trial and per task, no escape codes: for log files and `--progress plain`."""

  def __init__(self, stream: TextIO | None = None):
    self._stream = stream
    self._total = 0

  def _say(self, text: str) -> None:
    stream = self._stream if self._stream is not None else sys.stderr
    print(f"{time.strftime('%H:%M:%S')} {text}", file=stream, flush=True)

  def run_started(self, start: RunStart) -> None:
    self._total = len(start.tasks)
    config = start.config
    if start.resumed:
      self._say(f"resumed {start.workdir}: {start.completed} of {self._total} tasks were done")
    else:
      self._say(f"run {start.workdir}: {config.get('learner')} on {config.get('stream')}, {self._total} tasks")

  def trial_finished(self, trial: Trial, steps: int, seconds: float, values: dict) -> None:
    if trial.phase != "train" or trial.task is None:
      return
    shown = "".join(f", {k} {_number(v)}" for k, v in numbers(values).items())
    total = f"/{trial.total}" if trial.total else ""
    self._say(f"{_task_label(trial.position, self._total, trial.task)}: trial {trial.number} "
              f"({trial.description}): {steps}{total} steps in {seconds:.1f} s{shown}")

  def task_finished(self, end: TaskEnd) -> None:
    s = end.scalars
    parts = []
    if "error" in s:
      parts.append(f"error {s['error']:.4f}")
    if "log_loss" in s:
      parts.append(f"log-loss {s['log_loss']:.4f}")
    if "train_flops" in s:
      parts.append(f"{s['train_flops']:.3g} training FLOPs ({s.get('cumulative_train_flops', 0):.3g} so far)")
    if "preq_bits" in s:
      parts.append(f"prequential {s['preq_bits']:.1f} bits")
    if "wall_time_s" in s:
      parts.append(f"{s['wall_time_s']:.1f} s")
    self._say(f"{_task_label(end.position, self._total, end.task)}: {', '.join(parts)}")

  def task_skipped(self, position: int, task: TaskInfo, reason: str) -> None:
    self._say(f"{_task_label(position, self._total, task)}: skipped ({reason})")

  def run_finished(self, status: str, error: str | None) -> None:
    self._say(f"run {status}" + (f": {error}" if error else ""))


class BarDisplay(RunObserver):
  """Two tqdm bars on a terminal: the stream's tasks, and the learner's current trial."""

  def __init__(self):
    self._tasks = None
    self._trial = None

  def run_started(self, start: RunStart) -> None:
    from tqdm.auto import tqdm

    self._tasks = tqdm(total=len(start.tasks), initial=start.completed, desc="stream", position=0,
                       dynamic_ncols=True, leave=False)

  def task_started(self, position: int, task: TaskInfo) -> None:
    if self._tasks is not None:
      self._tasks.set_description(f"{task.name} ({task.year})")

  def trial_started(self, trial: Trial) -> None:
    from tqdm.auto import tqdm

    self._close_trial()
    self._trial = tqdm(total=trial.total, desc=trial.description, position=1, dynamic_ncols=True, leave=False)

  def trial_advanced(self, trial: Trial, steps: int, learner_step: int, values: dict) -> None:
    if self._trial is not None:
      self._trial.update(steps)
      if values:
        self._trial.set_postfix(values, refresh=False)

  def trial_finished(self, trial: Trial, steps: int, seconds: float, values: dict) -> None:
    self._close_trial()

  def task_finished(self, end: TaskEnd) -> None:
    if self._tasks is not None:
      self._tasks.update(1)

  def task_skipped(self, position: int, task: TaskInfo, reason: str) -> None:
    if self._tasks is not None:
      self._tasks.update(1)

  def close(self) -> None:
    self._close_trial()
    if self._tasks is not None:
      self._tasks.close()
      self._tasks = None

  def _close_trial(self) -> None:
    if self._trial is not None:
      self._trial.close()
      self._trial = None
