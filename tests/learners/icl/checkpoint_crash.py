"""Test plugin (`--import checkpoint_crash`): crash points at in-task checkpoints, for learners (icl) that
have none of their own.

NEVIS_TEST_CRASH_AT=saved:<position>:<step> kills the run right after task <position> saves the in-task
checkpoint due at <step> (steps done in the task, as the learner counts them for `due`).
NEVIS_TEST_DUE_LOG=<file> appends '<position> <step>' for every step a learner asks `due` about, so a test
can see which steps a resumed task ran.
"""
from __future__ import annotations

import os
import signal

from nevis.checkpoints import RunnerCheckpointHook

_due, _save = RunnerCheckpointHook.due, RunnerCheckpointHook.save


def _position(hook: RunnerCheckpointHook) -> str:
  return hook.folder.parent.name.removeprefix("task_")  # the runner's <checkpoints>/task_<position>/train


def _logged_due(self: RunnerCheckpointHook, step: int) -> bool:
  log = os.environ.get("NEVIS_TEST_DUE_LOG")
  if log:
    with open(log, "a") as file:
      file.write(f"{_position(self)} {step}\n")
  self.last_due_step = step
  return _due(self, step)


def _crashing_save(self: RunnerCheckpointHook, tree) -> None:
  _save(self, tree)
  if os.environ.get("NEVIS_TEST_CRASH_AT") == f"saved:{_position(self)}:{self.last_due_step}":
    os.kill(os.getpid(), signal.SIGKILL)


RunnerCheckpointHook.due = _logged_due
RunnerCheckpointHook.save = _crashing_save
