"""What the learner's code costs besides FLOPs, per task: wall time, CPU time, peak memory.

- Wall and CPU time are summed over the learner's calls for a task (training, prequential scoring, and
  the predictions of its evaluations). CPU time is the process's (`time.process_time`: every thread,
  XLA's thread pool included), so it can exceed wall time.
- Peak host memory is the resident set's high-water mark during the task. On Linux the mark is reset
  when the task starts (`/proc/self/clear_refs`), so it is the task's own peak (harness work during the
  task included). Where it cannot be reset, `ru_maxrss` is used: the peak since the process started.
  `scope()` says which.
- Peak device memory is the accelerator allocator's high-water mark (`device.memory_stats()`), None
  where the backend keeps no statistics (CPU). The allocator's mark cannot be reset, so it is the
  process's peak so far; a task that raised it has it as its own peak.
"""
from __future__ import annotations

import dataclasses
import re
import resource
import sys
import time
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclasses.dataclass
class TaskResources:
  learner_wall_s: float = 0.0
  learner_cpu_s: float = 0.0
  peak_host_bytes: int | None = None
  peak_device_bytes: int | None = None

  def as_row(self) -> dict:
    return dataclasses.asdict(self)


class ResourceMeter:
  """The runner's: `start_task()`, then `learner()` around each learner call, then `finish_task()`."""

  def __init__(self):
    self.task = TaskResources()
    self.setup = TaskResources()  # learner construction and init, once per process
    self._resettable = None

  def start_task(self) -> None:
    self.task = TaskResources()
    self._resettable = reset_host_peak()

  def learner(self, into: TaskResources | None = None):
    return _Timed(into or self.task)

  def finish_task(self) -> TaskResources:
    self.task.peak_host_bytes = host_peak_bytes()
    self.task.peak_device_bytes = device_peak_bytes()
    return self.task

  def scope(self) -> str:
    return "task" if self._resettable else "process"


class _Timed:
  def __init__(self, into: TaskResources):
    self.into = into

  def __enter__(self):
    self.wall, self.cpu = time.perf_counter(), time.process_time()

  def __exit__(self, *exc):
    self.into.learner_wall_s += time.perf_counter() - self.wall
    self.into.learner_cpu_s += time.process_time() - self.cpu


def reset_host_peak() -> bool:
  """Resets the resident set's high-water mark to its current size (Linux >= 4.0); False if impossible."""
  try:
    _CLEAR_REFS.write_text("5")
    return True
  except OSError:
    return False


def host_peak_bytes() -> int:
  """VmHWM from /proc where available, else ru_maxrss (KiB on Linux, bytes on macOS)."""
  try:
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    if match:
      return int(match.group(1)) * 1024
  except OSError:
    pass
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return int(peak if sys.platform == "darwin" else peak * 1024)


def device_peak_bytes() -> int | None:
  """Largest `peak_bytes_in_use` over the local devices, None when no device reports memory statistics."""
  import jax

  peaks = []
  for device in jax.local_devices():
    try:
      stats = device.memory_stats()
    except Exception:  # backends without statistics raise or return None
      stats = None
    if stats and "peak_bytes_in_use" in stats:
      peaks.append(int(stats["peak_bytes_in_use"]))
  return max(peaks) if peaks else None
