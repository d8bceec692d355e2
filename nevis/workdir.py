"""Workdirs: one run's folder, its lock, and atomic file writes."""
from __future__ import annotations

import datetime
import fcntl
import os
import tempfile
from pathlib import Path

from nevis.errors import WorkdirLockedError

LOCK_NAME = "lock"


class WorkdirLock:
  """An advisory lock held for the life of a run. The OS drops it if the process dies (even SIGKILL)."""

  def __init__(self, workdir: Path):
    self.path = Path(workdir) / LOCK_NAME
    self._fd: int | None = None

  def acquire(self) -> None:
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
      continue
  raise RuntimeError("could not create a new workdir")
