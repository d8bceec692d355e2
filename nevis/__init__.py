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
}

if TYPE_CHECKING:  # for type checkers and editors; at run time `__getattr__` imports them
  from nevis.errors import UserError
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


def load_results(workdir):
  """pandas DataFrames of one run's results: `.tasks`, `.evaluations`, `.meta`, `.summary()`."""
  from nevis.report import load_results as _load

  return _load(workdir)


__all__ = [
    "DataView", "InitContext", "Learner", "PredictionTask", "TrainingTask", "register_learner",
    "register_stream", "Stream", "SplitData", "Task", "TaskInfo", "TaskKind", "UserError", "load_results",
]
