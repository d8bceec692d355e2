"""nevis: does a learner get better and cheaper as it moves through thirty years of computer vision?"""
from nevis.errors import UserError
from nevis.protocol import DataView, InitContext, Learner, PredictionTask, TrainingTask
from nevis.registry import register_learner, register_stream
from nevis.stream import Stream
from nevis.task import SplitData, Task, TaskInfo, TaskKind

__version__ = "0.1.0"


def load_results(workdir):
  """pandas DataFrames of one run's results: `.tasks`, `.evaluations`, `.meta`, `.summary()`."""
  from nevis.report import load_results as _load

  return _load(workdir)


__all__ = [
    "DataView", "InitContext", "Learner", "PredictionTask", "TrainingTask", "register_learner",
    "register_stream", "Stream", "SplitData", "Task", "TaskInfo", "TaskKind", "UserError", "load_results",
]
