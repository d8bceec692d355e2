"""Loggers: where else a run's numbers go, named in its config (`loggers: [tensorboard, wandb]`).

A logger is a class registered with `@nevis.registry.register_logger("name")` (or declared, as the
built-ins below are, so that nothing is imported until a run uses one), in the entry-point group
`nevis.loggers` for a plug-in. It is built once the workdir exists and is told two kinds of numbers:

  log("task", position, {"error": ..., "log_loss": ..., "train_flops": ..., "cumulative_train_flops": ...,
      "preq_bits": ..., ...})                      after each task, at step = the task's position (from 0)
  log("learner", learner_step, {"loss": ...})      what the learner reports through `task.progress`, at
                                                   step = the run's count of training steps

A logger whose package is missing is a one-line error naming the extra to install, before the run starts.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from nevis.errors import ConfigError
from nevis.observers import RunObserver, TaskEnd, Trial, numbers
from nevis.registry import LOGGERS

LOGGERS.declare("tensorboard", "nevis.loggers.tensorboard:TensorBoardLogger")
LOGGERS.declare("wandb", "nevis.loggers.wandb:WandbLogger")


class Logger:
  """Base class of loggers."""

  #: importable modules the logger needs, and the pip requirement that provides them
  requires: tuple[str, ...] = ()
  install: str = ""

  def __init__(self, workdir: Path, config: dict, resumed: bool):
    """`workdir`: the run's folder (a logger writes only below a folder of its own name there); `config`:
    the run's config as JSON values; `resumed`: whether this continues a run started earlier."""

  def log(self, axis: str, step: int, values: dict[str, float]) -> None:
    raise NotImplementedError

  def close(self) -> None:
    """Writes out what is buffered; called when the run ends, however it ends."""


def resolve(names) -> list[type[Logger]]:
  """The logger classes of a config's `loggers`, checked before anything runs: known names, and the packages
  they need installed."""
  classes = []
  for name in names:
    cls = LOGGERS.get(name)
    missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
    if missing:
      raise ConfigError(f"logger {name!r} needs {', '.join(missing)}, which is not installed; "
                        f"pip install {cls.install or missing[0]!r}, or remove {name!r} from loggers")
    classes.append(cls)
  return classes


def start(classes: list[type[Logger]], workdir: Path, config: dict, *, resumed: bool) -> list[Logger]:
  """The run's loggers, built; one that fails to start is one warning line, and the run goes on without it."""
  started = []
  for cls in classes:
    try:
      started.append(cls(workdir, config, resumed))
    except Exception as e:
      print(f"nevis: warning: logger {cls.__name__} did not start ({type(e).__name__}: {' '.join(str(e).split())}); "
            "the run goes on without it", file=sys.stderr)
  return started


class LoggersObserver(RunObserver):
  """Tells the run's loggers its numbers: each task's, and the learner's training scalars."""

  def __init__(self, loggers: list[Logger]):
    self.loggers = loggers

  def trial_advanced(self, trial: Trial, steps: int, learner_step: int, values: dict) -> None:
    kept = numbers(values)
    if kept and trial.phase == "train":
      for logger in self.loggers:
        logger.log("learner", learner_step, kept)

  def task_finished(self, end: TaskEnd) -> None:
    for logger in self.loggers:
      logger.log("task", end.position, end.scalars)

  def close(self) -> None:
    for logger in self.loggers:
      logger.close()
