"""When a run stops early: what is recorded in its results, and the one line the user reads.

A run that fails records, in its results' meta, status `failed` (or `interrupted` for SIGINT/SIGTERM),
the task it was on and the one-line error; `nevis report` shows it and `--resume` continues from the last
completed task. Errors from the file system (a full disk, a read-only folder) and from the learner's own
code become one line naming the problem and the fix.
"""
from __future__ import annotations

import datetime
import errno
import os
import signal
import traceback
from pathlib import Path
from types import TracebackType

from nevis.errors import UserError
from nevis.results import StoreError

# The harness's files between the command line and the learner's code, which a learner's traceback leaves out.
HARNESS_FILES = tuple(f"{os.sep}nevis{os.sep}{name}.py" for name in (
    "runner", "learner_calls", "evaluation", "prequential", "guard", "resources")) + (f"{os.sep}contextlib.py",)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class Terminated(KeyboardInterrupt):
  """SIGTERM, handled as SIGINT is: the run is recorded as interrupted and can be resumed."""


class LearnerCrashed(UserError):
  """The learner's own code raised; the original exception is the cause (its traceback is the learner's)."""


def install_sigterm() -> None:
  def handler(signum, frame):
    raise Terminated()

  signal.signal(signal.SIGTERM, handler)


def one_line(error: BaseException) -> str:
  if isinstance(error, KeyboardInterrupt):
    return "terminated (SIGTERM)" if isinstance(error, Terminated) else "interrupted (SIGINT)"
  text = " ".join(str(error).split()) or type(error).__name__
  return text if isinstance(error, UserError) else f"{type(error).__name__}: {text}"


def record(store, position: int | None, task: str | None, error: BaseException) -> bool:
  """Writes the failure into the results; False (never raises) when even that is impossible (full disk)."""
  status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
  failure = {
      "position": position,
      "task": task,
      "error": one_line(error),
      "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
  }
  try:
    store.set_meta({"status": status, "failure": failure})
    return True
  except (StoreError, OSError):
    return False


def file_system_error(error: BaseException, workdir: Path) -> UserError | None:
  """A one-line error for a full disk or a read-only folder met while writing `workdir`, else None."""
  for cause in _chain(error):
    number = getattr(cause, "errno", None)
    text = str(cause).lower()
    where = getattr(cause, "filename", None) or workdir
    # sqlite and orbax (tensorstore) report a full disk in their own exception types, in words.
    if number in _NO_SPACE or "disk is full" in text or "no space left on device" in text:
      return UserError(
          f"no space left on the device while writing {where}; free some space, then continue with "
          f"`nevis run --resume --workdir {workdir}` (nothing recorded is lost)"
      )
    if number in _READ_ONLY or "readonly database" in text or "read-only file system" in text:
      return UserError(f"cannot write to {where} (read-only or not permitted); choose a writable --workdir")
  return None


def learner_crashed(error: Exception, learner: str, doing: str, task: str | None) -> LearnerCrashed:
  during = f"{doing} of task {task!r}" if task else doing
  crashed = LearnerCrashed(f"learner {learner!r} raised {type(error).__name__} during {during}: "
                           f"{' '.join(str(error).split())}")
  crashed.__cause__ = error
  return crashed


def learner_traceback(error: LearnerCrashed) -> str:
  """The learner's part of the traceback: the frames below the harness's call into it."""
  cause = error.__cause__
  tb: TracebackType | None = cause.__traceback__ if cause is not None else None
  while tb is not None and tb.tb_frame.f_code.co_filename.endswith(HARNESS_FILES):
    tb = tb.tb_next
  if cause is None or tb is None:
    return ""
  lines = traceback.format_exception(type(cause), cause, tb)
  return "".join(lines).rstrip()


def resume_hint(message: str, workdir: Path, status: str) -> str:
  if "--resume" in message:  # the message says how to continue already
    return f"{message} (the run is recorded as {status})"
  return (f"{message}; the run is recorded as {status} in {workdir}: once fixed, continue it with "
          f"`nevis run --resume --workdir {workdir}`")


def _chain(error: BaseException):
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    yield error
    error = error.__cause__ or error.__context__

