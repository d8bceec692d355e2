"""`events.jsonl` in the workdir: one JSON object per line for each thing that happens in a run, written as it
happens (`tail -f`, or any tool that reads JSON lines).

Every object has `time` (UTC, ISO 8601) and `event`, one of:
  run_start    workdir, learner, stream, tasks, config            a new run
  resume       workdir, learner, stream, tasks, completed, config a resumed run (the file is appended to)
  task_start   position, task, year
  trial_start  position, task, phase, trial, description, total   the learner's `task.progress.start`
  progress     position, task, phase, trial, step, learner_step, values
                                                                  what the learner reported (e.g. loss), at
                                                                  most one line per PROGRESS_EVERY_S seconds
                                                                  of a trial
  trial_end    position, task, phase, trial, description, steps, seconds, values
  task_end     position, task, and the task's numbers: error, log_loss, num_examples, train_flops,
               cumulative_train_flops, preq_bits, preq_bits_per_example, wall_time_s (those measured)
  task_skip    position, task, reason
  run_end      status (complete, failed or interrupted), error
`position` counts tasks from 0, as the results do; `phase` is "train", or "prequential" for the trainings
that score a code length.

Each line is written whole with one `write` to a file opened for appending, so a killed run leaves complete
lines, except at worst a last line cut short: a resumed run removes that (nevis's own half-written line,
never anything else) and appends from there, starting with a `resume` event.
"""
from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path

from nevis.observers import RunObserver, RunStart, TaskEnd, Trial, numbers
from nevis.task import TaskInfo

EVENTS_NAME = "events.jsonl"
PROGRESS_EVERY_S = 10.0


class EventsLog(RunObserver):
  def __init__(self, workdir: Path):
    self.path = Path(workdir) / EVENTS_NAME
    _drop_cut_line(self.path)
    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    self._step, self._last_progress = 0, -PROGRESS_EVERY_S  # within the current trial

  def write(self, event: str, **fields) -> None:
    record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
              "event": event, **fields}
    os.write(self._fd, (json.dumps(record, default=str, allow_nan=False) + "\n").encode())

  def run_started(self, start: RunStart) -> None:
    common = dict(workdir=start.workdir, learner=start.config.get("learner"), stream=start.config.get("stream"),
                  tasks=len(start.tasks))
    if start.resumed:
      self.write("resume", **common, completed=start.completed, config=start.config)
    else:
      self.write("run_start", **common, config=start.config)

  def task_started(self, position: int, task: TaskInfo) -> None:
    self.write("task_start", position=position, task=task.name, year=task.year)

  def trial_started(self, trial: Trial) -> None:
    self._step, self._last_progress = 0, -PROGRESS_EVERY_S
    self.write("trial_start", **_trial(trial), description=trial.description, total=trial.total)

  def trial_advanced(self, trial: Trial, steps: int, learner_step: int, values: dict) -> None:
    self._step += steps
    kept = numbers(values)
    now = time.monotonic()
    if kept and now - self._last_progress >= PROGRESS_EVERY_S:
      self._last_progress = now
      self.write("progress", **_trial(trial), step=self._step, learner_step=learner_step, values=kept)

  def trial_finished(self, trial: Trial, steps: int, seconds: float, values: dict) -> None:
    self.write("trial_end", **_trial(trial), description=trial.description, steps=steps,
               seconds=round(seconds, 3), values=numbers(values))

  def task_finished(self, end: TaskEnd) -> None:
    self.write("task_end", position=end.position, task=end.task.name, **end.scalars)

  def task_skipped(self, position: int, task: TaskInfo, reason: str) -> None:
    self.write("task_skip", position=position, task=task.name, reason=reason)

  def run_finished(self, status: str, error: str | None) -> None:
    self.write("run_end", status=status, error=error)

  def close(self) -> None:
    if self._fd is not None:
      os.close(self._fd)
      self._fd = None


def _trial(trial: Trial) -> dict:
  return dict(position=trial.position, task=trial.task.name if trial.task else None, phase=trial.phase,
              trial=trial.number)


def _drop_cut_line(path: Path) -> None:
  """Truncates the file after its last complete line (a kill mid-write can leave part of one)."""
  try:
    size = path.stat().st_size
  except FileNotFoundError:
    return
  if size == 0:
    return
  with open(path, "rb+") as f:
    f.seek(max(size - 65536, 0))
    tail = f.read()
    if tail.endswith(b"\n"):
      return
    cut = tail.rfind(b"\n")
    f.truncate(size - len(tail) + cut + 1 if cut >= 0 else (0 if size <= 65536 else size))
