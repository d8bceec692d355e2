"""nevis: does a learner get better and cheaper as it moves through thirty years of computer vision?

The public names below are imported when first used (PEP 562), so that `import nevis` and the commands that
only list or report (`nevis learners`, `nevis streams`, `nevis report`) do not import JAX.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "DataView": "nevis.protocol",
    "InitContext": "nevis.protocol",
    "Learner": "nevis.protocol",
    "PredictionTask": "nevis.protocol",
    "TrainingTask": "nevis.protocol",
    "register_learner": "nevis.registry",
    "register_stream": "nevis.registry",
    "Stream": "nevis.stream",
    "SplitData": "nevis.task",
    "Task": "nevis.task",
    "TaskInfo": "nevis.task",
    "TaskKind": "nevis.task",
    "UserError": "nevis.errors",
    "BudgetExhausted": "nevis.errors",
}

if TYPE_CHECKING:  # for type checkers and editors; at run time `__getattr__` imports them
  from nevis.errors import BudgetExhausted, UserError
  from nevis.protocol import DataView, InitContext, Learner, PredictionTask, TrainingTask
  from nevis.registry import register_learner, register_stream
  from nevis.stream import Stream
  from nevis.task import SplitData, Task, TaskInfo, TaskKind


def __getattr__(name: str):
  module = _EXPORTS.get(name)
  if module is None:
    raise AttributeError(f"module 'nevis' has no attribute {name!r}")
  value = getattr(importlib.import_module(module), name)
  globals()[name] = value  # later look-ups skip this function
  return value


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(_EXPORTS))


def load_results(*workdirs):
  """Results read back (read-only).

  One run's workdir: its `Results` (pandas DataFrames `.tasks` and `.evaluations`, `.meta`, `.summary()`,
  `.error_matrix()` labelled with task names). Several workdirs, a list of them, or a sweep folder (run
  workdirs one level down): one DataFrame with a row per (run, task) and the columns `configuration` (runs
  that differ only in seed share it; see `nevis.compare`), `seed`, `run`, `learner` and `status` first.
  """
  from nevis import compare, report

  paths = list(workdirs[0]) if len(workdirs) == 1 and isinstance(workdirs[0], (list, tuple)) else list(workdirs)
  if not paths:
    raise TypeError("load_results needs at least one workdir")
  runs = compare.run_workdirs(paths)
  if len(workdirs) == 1 and not isinstance(workdirs[0], (list, tuple)) and runs == [_path(workdirs[0])]:
    return report.load_results(runs[0])
  return compare.runs_frame([compare.load_results(p) for p in runs])


def compare_runs(*workdirs):
  """One pandas DataFrame row per configuration of the runs in `workdirs` (run workdirs or sweep folders):
  seeds, mean error and its 95 % interval over seeds, training FLOPs, prequential bits/example, wall time,
  compute budget, status — the numbers of `nevis report`."""
  from nevis import compare as compare_lib

  paths = list(workdirs[0]) if len(workdirs) == 1 and isinstance(workdirs[0], (list, tuple)) else list(workdirs)
  return compare_lib.summary_frame(compare_lib.group(compare_lib.load_runs(paths)))


def _path(workdir):
  from pathlib import Path

  return Path(workdir)


__all__ = [
    "BudgetExhausted", "DataView", "InitContext", "Learner", "PredictionTask", "TrainingTask", "register_learner",
    "register_stream", "Stream", "SplitData", "Task", "TaskInfo", "TaskKind", "UserError", "load_results",
    "compare_runs",
]
