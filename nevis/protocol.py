"""The learner protocol: what a learner implements and what it receives.

A learner implements three methods (dm_nevis's init / train / predict):

    state = learner.init(ctx)                        # once, before the first task
    state = learner.train(task, state)               # once per task of the stream
    logits = learner.predict(task, state, images)    # the runner scores these itself

`task` is a `TrainingTask` (train and dev data, RNG, progress, checkpoint hook, metered jit) or a
`PredictionTask` (metadata and metered jit only). Neither holds dev_test or test data: the runner keeps
those and feeds their images to `predict` in fixed-size batches.

Every computation a learner runs must be compiled through `task.jit`, which is how the harness meters
compute (FLOPs from XLA's cost analysis of each compiled signature, times its calls). Eager JAX
operations (`x + 1`, `jnp.mean(x)` outside any jit) are metered too, one execution at a time. Anything
else compiled by XLA — a plain `jax.jit` — is refused, unless the learner declares it helper work:

    with task.unmetered("decode the class names"):
        ...                                          # reported with the task, apart from metered compute

A learner that computes nothing is fine: it is recorded with 0 FLOPs.

Learner state must be a pytree of dicts, lists, tuples, arrays and Python scalars, so the runner can
checkpoint it between tasks and resume bitwise identically.
"""
from __future__ import annotations

import abc
import contextlib
import dataclasses
from typing import Any, Callable, ClassVar, Iterator

import jax
import numpy as np

from nevis import guard
from nevis.options import Options
from nevis.task import SplitData, TaskInfo

State = Any


class DataView:
  """Read access to one split a learner may see (train or dev)."""

  def __init__(self, split: SplitData, num_classes: int, multi_label: bool):
    self._split = split
    self.num_classes = num_classes
    self.multi_label = multi_label
    self._permutations: dict[tuple[int, int], np.ndarray] = {}  # (seed, epoch) -> order; a few kept
    # Plain ndarray views of memory-mapped splits for batch_at: np.memmap's indexing runs Python on every batch.
    self._arrays = (np.asarray(split.images), np.asarray(split.labels))

  def __len__(self) -> int:
    return len(self._split)

  @property
  def num_examples(self) -> int:
    return len(self._split)

  @property
  def images(self) -> np.ndarray:
    """(N, H, W, C) uint8; read-only."""
    return self._split.images

  @property
  def labels(self) -> np.ndarray:
    """(N,) int32 class ids, or (N, K) uint8 for multi-label tasks; read-only."""
    return self._split.labels

  def batches(self, batch_size: int, *, seed: int, start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
    """Endless fixed-size batches, reshuffled each epoch; step `s` is a pure function of (seed, s).

    A split smaller than `batch_size` is repeated within the batch, so shapes never change. Resuming
    at `start_step` gives exactly the batches an uninterrupted loop would have seen.
    """
    n = len(self._split)
    if n == 0:
      raise ValueError("cannot draw batches from an empty split")
    step = start_step
    while True:
      yield self.batch_at(step, batch_size, seed=seed)
      step += 1

  def batch_at(self, step: int, batch_size: int, *, seed: int) -> dict[str, np.ndarray]:
    n = len(self._split)
    epoch, offset = divmod(step * batch_size, n)
    if offset + batch_size <= n:  # the usual case: one slice of one epoch's order
      index = self._permutation(seed, epoch)[offset : offset + batch_size]
    elif batch_size <= n:  # the batch straddles two epochs
      index = np.concatenate([
          self._permutation(seed, epoch)[offset:],
          self._permutation(seed, epoch + 1)[: offset + batch_size - n],
      ])
    else:  # a split smaller than the batch: several epochs per batch
      positions = np.arange(step * batch_size, (step + 1) * batch_size)
      epochs, offsets = np.divmod(positions, n)
      index = np.empty(batch_size, dtype=np.int64)
      for e in np.unique(epochs):
        mask = epochs == e
        index[mask] = self._permutation(seed, int(e))[offsets[mask]]
    images, labels = self._arrays
    return {"images": images[index], "labels": labels[index], "index": index}

  def _permutation(self, seed: int, epoch: int) -> np.ndarray:
    key = (seed, epoch)
    order = self._permutations.get(key)
    if order is None:
      if len(self._permutations) >= 4:  # steps move forward: old epochs are not needed again
        self._permutations.pop(next(iter(self._permutations)))
      order = self._permutations[key] = _epoch_permutation(len(self._split), seed, epoch)
    return order

  def ordered_batches(self, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Every example once, in order, in fixed-size batches; `mask` marks real rows of the last batch."""
    yield from padded_batches(self._split.images, self._split.labels, batch_size)

  def subset(self, index) -> "DataView":
    return DataView(self._split.subset(index), self.num_classes, self.multi_label)


def _epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch]).permutation(n)


def padded_batches(images: np.ndarray, labels: np.ndarray | None, batch_size: int):
  """Fixed-size batches over all rows in order; the last is padded by repeating row 0."""
  n = len(images)
  for start in range(0, n, batch_size):
    index = np.arange(start, start + batch_size)
    mask = index < n
    index = np.where(mask, index, 0)
    batch = {"images": images[index], "mask": mask}
    if labels is not None:
      batch["labels"] = labels[index]
    yield batch


class Progress:
  """What a learner reports while it trains (`task.progress`); the harness shows it (bars on a terminal,
  plain lines elsewhere) and writes it to events.jsonl and the run's loggers.

  `start(description, total)` begins a trial (the built-in learners: one hyper-parameter setting; `total`:
  its steps, if known); `update(n, **values)` advances it by `n` steps with what the learner wants watched:
  numbers (`loss=float(loss)`) are logged, against the run's count of training steps, text is only shown;
  `close()` ends it. Reading a number back from the device waits for it, so report one every few steps.
  """

  def start(self, description: str, total: int | None = None) -> None: ...

  def update(self, n: int = 1, **postfix) -> None: ...

  def close(self) -> None: ...


class CheckpointHook:
  """Checkpoints inside a long training task.

  Call `due(step)` in the training loop; when it is true, `save(tree)` a pytree holding everything
  needed to continue (step, params, optimizer state, trial results). After a crash the runner
  restarts the task and `restore()` returns the last saved tree (None on a fresh start).
  """

  def due(self, step: int) -> bool:
    return False

  def save(self, tree: Any) -> None: ...

  def restore(self) -> Any | None:
    return None


MeteredJit = Callable[..., Callable]


class _Unmetered:
  def unmetered(self, reason: str) -> contextlib.AbstractContextManager:
    """`with task.unmetered("why"):` declares helper work: XLA computations inside need not go through
    `task.jit`; they are counted apart (calls, FLOPs where countable) and reported with the task, never in
    its compute columns. They run without JAX's C++ dispatch cache, so keep them off hot loops."""
    return guard.helper_work(reason)


@dataclasses.dataclass(frozen=True)
class InitContext(_Unmetered):
  rng: jax.Array
  jit: MeteredJit
  stream_tasks: tuple[TaskInfo, ...]  # metadata of the whole stream; no data


@dataclasses.dataclass(frozen=True)
class PredictionTask(_Unmetered):
  info: TaskInfo
  jit: MeteredJit


@dataclasses.dataclass(frozen=True)
class TrainingTask(_Unmetered):
  info: TaskInfo
  train: DataView
  dev: DataView
  rng: jax.Array
  jit: MeteredJit
  progress: Progress
  checkpoint: CheckpointHook
  # Set when the runner asks for the online prequential score: call `record(batch, logits, trial=i)`
  # with logits computed *before* the update on that batch. None otherwise.
  online_prequential: Any | None = None
  # What the learner wants kept with the results (chosen hyperparameters, trial errors): JSON values.
  notes: dict = dataclasses.field(default_factory=dict)

  def for_prediction(self) -> PredictionTask:
    return PredictionTask(self.info, self.jit)


@dataclasses.dataclass(frozen=True)
class NoOptions(Options):
  """The config of a learner that takes no options."""


class Learner(abc.ABC):
  """Base class of learners. `config` holds the run's `learner_options`, parsed and validated by `Config`."""

  #: The learner's options: a frozen dataclass subclassing `nevis.options.Options` whose fields are declared
  #: with `option(default, "one-line doc", minimum=..., choices=...)`, rules between fields in `check()`. It is
  #: the one source of validation, error messages and `nevis learners NAME` (`Config.describe()`). A subclass
  #: that adds options extends its parent's Config by inheritance.
  Config: ClassVar[type[Options]] = NoOptions

  def __init__(self, **options):
    self.config = self.Config.parse(options, owner=registered_name(type(self)))

  @abc.abstractmethod
  def init(self, ctx: InitContext) -> State:
    ...

  @abc.abstractmethod
  def train(self, task: TrainingTask, state: State) -> State:
    ...

  @abc.abstractmethod
  def predict(self, task: PredictionTask, state: State, images: jax.Array) -> jax.Array:
    """Returns logits (B, num_classes): softmax logits, or per-class sigmoid logits if multi-label."""

  def starts_from(self) -> tuple[str, ...]:
    """Workdirs of earlier runs whose artefacts this learner starts from (its pretraining). The harness
    reads their training compute from their results and records it as this run's pretraining compute
    (`nevis.pretraining`)."""
    return ()


def registered_name(cls: type) -> str:
  """The name `cls` is registered under (what a run's `learner:` says), else its class name."""
  from nevis import registry

  return registry.LEARNERS.name_of(cls) or cls.__name__
