"""Workdirs: one run's folder, its lock, and atomic file writes.

Safety: nevis never deletes a folder it did not create in this process, nor anything in a folder that
holds files it did not write. In a workdir it writes only its own names (below) and deletes only inside
`checkpoints/`, which it creates. A user's folder may be a workdir; a new run refuses to start in one that
already holds one of these names without a nevis run, rather than overwrite it.
"""
from __future__ import annotations

import datetime
import errno
import fcntl
import os
import re
import tempfile
from pathlib import Path

from nevis.errors import UserError, WorkdirLockedError
from nevis.paths import file_in_the_way

LOCK_NAME = "lock"
# Everything nevis writes at the top of a workdir.
OWN_NAMES = ("results.sqlite", LOCK_NAME, "checkpoints", "predictions", "plot.png", "events.jsonl", "tensorboard",
             "wandb")


def open_workdir(path: Path, *, resume: bool) -> bool:
  """Checks `path` can be a workdir and creates it if needed; True when this call created it."""
  shown = str(path)
  blocking = file_in_the_way(path)
  if blocking is not None:
    which = "it" if blocking == path else repr(str(blocking))
    raise UserError(f"--workdir {shown!r}: {which} is a file, not a folder; choose a folder path")
  if path.exists():
    if not resume:
      _refuse_foreign_names(path)
    return False
  if resume:
    raise UserError(f"--resume: {shown!r} does not exist, so it holds no run to resume; drop --resume to start one")
  try:
    path.mkdir(parents=True)
  except OSError as e:
    raise UserError(f"cannot create --workdir {shown!r} ({e.strerror}); choose a writable folder") from None
  return True


def _refuse_foreign_names(path: Path) -> None:
  """A new run in an existing folder: nevis's names there must be a nevis run's (or absent)."""
  if (path / "results.sqlite").exists():
    return  # a run (or a corrupt one): the runner says which
  lock = path / LOCK_NAME
  foreign = [name for name in OWN_NAMES[2:] if (path / name).exists()]
  if lock.exists() and not (lock.is_file() and _is_nevis_lock(lock)):
    foreign.insert(0, LOCK_NAME)
  if foreign:
    raise UserError(
        f"--workdir {str(path)!r} holds {', '.join(foreign)} but no nevis run; nevis would overwrite "
        "them: move them away or choose another --workdir"
    )


def _is_nevis_lock(lock: Path) -> bool:
  try:
    return re.fullmatch(r"(pid .*)?", lock.read_text(errors="replace").strip()) is not None
  except OSError:
    return False


# Temporary names nevis's own writers use (results.create, plots; atomic_write_bytes and orbax inside the
# folders nevis owns): a process killed while writing leaves them behind. Only they are cleaned.
_TOP_LEFTOVER = re.compile(r"^\.(results\.sqlite\.\d+|plot\.[a-z]+)\.tmp$")
_OWNED_LEFTOVER = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$|\.orbax-checkpoint-tmp")


def clean_leftovers(path: Path) -> None:
  """Removes what a killed writer left half-written (call it holding the workdir's lock)."""
  import shutil

  candidates = [p for p in path.iterdir() if _TOP_LEFTOVER.match(p.name)]
  for owned in ("checkpoints", "predictions"):
    if (path / owned).is_dir():
      candidates += [p for p in (path / owned).rglob("*") if _OWNED_LEFTOVER.search(p.name)]
  for leftover in candidates:
    if leftover.is_dir() and not leftover.is_symlink():
      shutil.rmtree(leftover, ignore_errors=True)
    else:
      leftover.unlink(missing_ok=True)


def discard_if_unused(path: Path, created: bool) -> None:
  """After a run that failed before creating its results: removes what it wrote, and the folder if this
  process created it. Never touches anything else."""
  if not created or (path / "results.sqlite").exists():
    return
  lock = path / LOCK_NAME
  if lock.is_file() and _is_nevis_lock(lock):
    lock.unlink(missing_ok=True)
  try:
    path.rmdir()  # only if empty
  except OSError:
    pass


class WorkdirLock:
  """An advisory lock held for the life of a run. The OS drops it if the process dies (even SIGKILL)."""

  def __init__(self, workdir: Path):
    self.path = Path(workdir) / LOCK_NAME
    self._fd: int | None = None

  def acquire(self) -> None:
    try:
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        raise UserError(f"cannot write to workdir {str(self.path.parent)!r} ({e.strerror}); choose a writable "
                        "--workdir") from None
      raise
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(fd)
      holder = self.path.read_text().strip() or "another process"
      raise WorkdirLockedError(
          f"workdir {str(self.path.parent)!r} is in use by {holder}; wait for that run or use another --workdir"
      ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}".encode())
    self._fd = fd

  def release(self) -> None:
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None

  def __enter__(self):
    self.acquire()
    return self

  def __exit__(self, *exc):
    self.release()


def atomic_write_bytes(path: Path, data: bytes) -> None:
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    Path(tmp).unlink(missing_ok=True)
    raise


def new_workdir(root: str | Path = "runs", label: str = "run") -> Path:
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  root = Path(root)
  for i in range(1000):
    path = root / (f"{stamp}-{label}" + (f"-{i}" if i else ""))
    try:
      path.mkdir(parents=True)
      return path
    except FileExistsError:
      if not root.is_dir():
        break
      continue
    except OSError as e:
      raise UserError(f"cannot create a workdir under {str(root)!r} ({e.strerror}); set NEVIS_RUNS_DIR to a "
                      "writable folder or pass --workdir") from None
  raise UserError(f"cannot create a workdir under {str(root)!r} (it is a file, or the folder is full of "
                  "runs from this second); pass --workdir")
