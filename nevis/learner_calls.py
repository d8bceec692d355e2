"""Every call the harness makes into the learner's code, and what it hands the learner for training.

Each call (construction, init, train, predict) runs inside the compute guard (`nevis.guard`), is timed
into the task's resources (`nevis.resources`), and an exception of the learner's own becomes one line
naming the learner, what it was doing and the task, with the learner's part of the traceback kept as
the cause. Predictions are asked for in fixed-size batches (one compiled shape) and checked.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Callable

import numpy as np

from nevis import checkpoints, failures, guard
from nevis.errors import LearnerError, UserError
from nevis.meter import ComputeMeter
from nevis.online import OnlineRecorder
from nevis.protocol import DataView, Learner, PredictionTask, Progress, TrainingTask, padded_batches
from nevis.resources import ResourceMeter, TaskResources
from nevis.task import TaskInfo


@dataclasses.dataclass
class RunTimings:
  wall_s: float = 0.0
  learner_s: float = 0.0  # inside learner.init/train/predict
  flop_counting_s: float = 0.0  # counting new signatures, plus finding every call's signature


class LearnerCalls:
  """The one way into the learner's code during a run."""

  def __init__(self, learner_name: str, meter: ComputeMeter, resources: ResourceMeter, timings: RunTimings, *,
               eval_batch_size: int, checkpoint_every_steps: int):
    self.learner_name = learner_name
    self.meter = meter
    self.resources = resources
    self.timings = timings
    self.eval_batch_size = eval_batch_size
    self.checkpoint_every_steps = checkpoint_every_steps
    # phase ("train" or "prequential") -> the `task.progress` handed to the learner; the runner sets it to
    # report to the run's observers. Unset: progress goes nowhere.
    self.progress_for: Callable[[str], Progress] = lambda phase: Progress()

  @contextlib.contextmanager
  def code(self, doing: str, task: str | None = None, into: TaskResources | None = None):
    """Around every call into the learner: the compute guard, its time and memory, and its own errors
    turned into one line (with the learner's part of the traceback kept as the cause)."""
    started = time.perf_counter()
    try:
      with guard.learner_code(self.learner_name, doing, task), self.resources.learner(into):
        yield
    except UserError:
      raise
    except Exception as error:
      raise failures.learner_crashed(error, self.learner_name, doing, task) from error
    finally:
      self.timings.learner_s += time.perf_counter() - started

  def training_task(self, info: TaskInfo, train: DataView, dev: DataView, key, folder: Path,
                    online: OnlineRecorder | None = None, phase: str = "train") -> TrainingTask:
    """What the learner is handed to train on: the only data it sees, and nothing that leads back to the
    meter, the runner or the held-out splits."""
    return TrainingTask(
        info=info,
        train=train,
        dev=dev,
        rng=key,
        jit=self.meter.learner_jit,
        progress=self.progress_for(phase),
        checkpoint=checkpoints.RunnerCheckpointHook(folder, self.checkpoint_every_steps, self.meter, online=online),
        online_prequential=online,
    )

  def train(self, learner: Learner, training_task: TrainingTask, state, *, charge: str, doing: str = "train"):
    """`learner.train`, its compute charged to `charge` and bounded by the compute budget (`nevis.budget`)."""
    with self.meter.charging(charge), self.meter.budgeted(), self.code(doing, training_task.info.name):
      new_state = learner.train(training_task, state)
    training_task.progress.close()
    return new_state

  def predict(self, learner: Learner, state, info: TaskInfo, images: np.ndarray) -> np.ndarray:
    """Logits for every image, in fixed-size batches (one compiled shape), checked."""
    prediction_task = PredictionTask(info, self.meter.learner_jit)
    outputs = []
    for batch in padded_batches(images, None, self.eval_batch_size):
      with self.code("predict", info.name):
        logits = np.asarray(learner.predict(prediction_task, state, batch["images"]))
      expected = (len(batch["images"]), info.num_classes)
      if logits.shape != expected:
        raise LearnerError(
            f"learner {self.learner_name!r} returned scores of shape {logits.shape} for task "
            f"{info.name!r}; expected {expected} (batch, classes)"
        )
      outputs.append(logits[batch["mask"]])
    logits = np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0, info.num_classes), np.float32)
    if not np.all(np.isfinite(logits)):
      raise LearnerError(
          f"learner {self.learner_name!r} returned NaN or infinite scores for task {info.name!r}; "
          "check its learning rate and numerics"
      )
    return logits
