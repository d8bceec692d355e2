"""`loggers: [tensorboard]`: TensorBoard event files in WORKDIR/tensorboard (`tensorboard --logdir WORKDIR`).

Written with tensorboardX (`pip install "nevis[tensorboard]"`): a pure-Python writer of the event-file
format (protobuf records), without TensorFlow or PyTorch; TensorBoard itself is needed only to look at them.
Tags are `task/<name>` (step: the task's position) and `learner/<name>` (step: the run's training step). A
resumed run adds a new event file to the same folder (never overwriting one); TensorBoard reads them together.
"""
from __future__ import annotations

import time
from pathlib import Path

from nevis.loggers import Logger
from nevis.registry import register_logger

FOLDER = "tensorboard"


@register_logger("tensorboard")
class TensorBoardLogger(Logger):
  """TensorBoard event files in WORKDIR/tensorboard."""

  requires = ("tensorboardX",)
  install = "nevis[tensorboard]"

  def __init__(self, workdir: Path, config: dict, resumed: bool):
    from tensorboardX import SummaryWriter

    self.folder = Path(workdir) / FOLDER
    # tensorboardX names a file by the second and the host and opens it for writing anew: the nanosecond as a
    # suffix keeps a run resumed within the same second from overwriting the file before it, and the files of
    # successive processes in name order (as TensorBoard reads them).
    self._writer = SummaryWriter(logdir=str(self.folder), flush_secs=30, filename_suffix=f".{time.time_ns()}")
    if not resumed:
      self._writer.add_text("config", _markdown(config), 0)

  def log(self, axis: str, step: int, values: dict[str, float]) -> None:
    for name, value in values.items():
      self._writer.add_scalar(f"{axis}/{name}", value, step)
    if axis == "task":  # a task's numbers are worth seeing at once; the learner's come often
      self._writer.flush()

  def close(self) -> None:
    self._writer.close()


def _markdown(config: dict) -> str:
  import json

  return "    " + json.dumps(config, indent=1, sort_keys=True, default=str).replace("\n", "\n    ")
