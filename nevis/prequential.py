"""Prequential code length of each task's training labels, as evaluators (`nevis.evaluation`).

- `BlockwisePrequential` (Blier & Ollivier 2018), before the learner trains on the task: the training
  set is put in a fixed random order and cut at chunk boundaries that grow geometrically with its size.
  The first chunk costs the uniform code; chunk s+1 is scored by the learner trained, from the state it
  met the task with, on chunks 1..s. Partial results survive a crash.
- `OnlinePrequential`, after it has trained: the learner recorded, during training, its scores of each
  batch before updating on it (`task.online_prequential`); no extra compute.

The code-length arithmetic is `nevis.metrics.prequential`'s.
"""
from __future__ import annotations

import json

import jax
import numpy as np

from nevis.errors import LearnerError
from nevis.evaluation import CurrentTask, Evaluator, Scores
from nevis.learner_calls import LearnerCalls
from nevis.meter import ComputeMeter, MeterTotals
from nevis.metrics import classification, prequential as preq_lib
from nevis.online import OnlineRecorder
from nevis.protocol import Learner
from nevis.run_support import crash_point
from nevis.task import TaskInfo
from nevis.workdir import atomic_write_bytes


class BlockwisePrequential(Evaluator):
  before_training = True

  def __init__(self, learner: Learner, calls: LearnerCalls, meter: ComputeMeter, *, seed: int, first_chunk: int):
    self.learner = learner
    self.calls = calls
    self.meter = meter
    self.seed = seed
    self.first_chunk = first_chunk

  def run(self, current: CurrentTask, state) -> Scores:
    info, train = current.task.info, current.train
    order = np.random.default_rng([self.seed, 7, len(train)]).permutation(len(train))
    ordered = train.subset(order)
    bounds = preq_lib.chunk_boundaries(len(ordered), first_chunk=self.first_chunk)
    progress_file = current.folder / "prequential.json"
    done: list[float] = []
    if progress_file.exists():
      saved = json.loads(progress_file.read_text())
      done = saved["chunk_nats"]
      self.meter.totals = MeterTotals.from_dict(saved["meter"])
    for s in range(len(done), len(bounds) - 1):
      prefix = ordered.subset(np.arange(bounds[s]))
      sub_task = self.calls.training_task(info, prefix, current.dev, jax.random.fold_in(current.key, 1000 + s),
                                          current.folder / f"preq_{s}", phase="prequential")
      sub_state = self.calls.train(self.learner, sub_task, state, charge="prequential",
                                   doing="train (prequential scoring)")
      chunk = np.arange(bounds[s], bounds[s + 1])
      with self.meter.charging("prequential"):
        logits = self.calls.predict(self.learner, sub_state, info, ordered.images[chunk])
      nll = classification.per_example_nll(logits, ordered.labels[chunk], multi_label=info.multi_label)
      done.append(float(np.sum(nll)))
      atomic_write_bytes(
          progress_file, json.dumps({"chunk_nats": done, "meter": self.meter.totals.as_dict()}).encode()
      )
      crash_point(f"after_chunk:{current.position}:{s}")
    first = bounds[0] if bounds else 0
    nats = preq_lib.uniform_nats_per_example(info.num_classes, info.multi_label) * first + float(sum(done))
    return Scores({"prequential": "blockwise", "chunk_boundaries": bounds, **code_length(nats, len(ordered), info)})


class OnlinePrequential(Evaluator):
  def __init__(self, learner_name: str):
    self.learner_name = learner_name

  @staticmethod
  def recorder(current: CurrentTask) -> OnlineRecorder:
    """What the learner records its scores in while it trains (`task.online_prequential`)."""
    info = current.task.info
    return OnlineRecorder(current.train.labels, info.num_classes, info.multi_label)

  def run(self, current: CurrentTask, state) -> Scores:
    nats = current.training.online_prequential.code_length_nats()
    if nats is None:
      raise LearnerError(
          f"learner {self.learner_name!r} does not report online prequential scores "
          f"(task.online_prequential.record); use prequential: blockwise"
      )
    return Scores({"prequential": "online", **code_length(nats, len(current.train), current.task.info)})


def code_length(nats: float, n: int, info: TaskInfo) -> dict:
  """The code-length columns of a task's train event."""
  r = preq_lib.report(nats, n, info.num_classes, multi_label=info.multi_label)
  return {k: r[k] for k in ("preq_nats", "preq_bits", "preq_bits_per_example", "preq_ratio")}
