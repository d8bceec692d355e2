"""What the learners share: random keys, device transfer, metered calls over padded batches, compiled functions
by name, the optimiser update and its schedule, and losses over padded heads.

Learners import these from here and never from one another.

Random keys: every draw of a learner is a pure function of (task key, `seed`, a path), hashed on the host by
`derive_key`; the path starts with a `Purpose`, so draws for different purposes are independent and a
resumed task redraws exactly what an uninterrupted one drew. Compiled code only wraps the result as an
"unsafe_rbg" key (XLA's RngBitGenerator), whose draws, splits and fold-ins compile to no loops: threefry
compiles to `while` loops (a burden for FLOP metering) and to seconds of XLA:CPU compile time per random op.

Compiled functions are module-level functions whose first argument is the learner's `Network` (graph,
optimiser, input size); `CompiledFunctions` binds them once per network and compiles each through a task's
metered `jit` once per jit, so a stream compiles once per network and signature, never per task or trial.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nevis.learners import augment, compiler_options
from nevis.protocol import padded_batches


class Purpose(enum.IntEnum):
  """What a key of the network learners (fine-tuning, dynamic_knn, pretrained, icl) is drawn for: the first
  element of its path. Recorded results depend on these numbers, so none may change."""

  INIT = 0  # a fresh network
  AUGMENT = 1  # a training step's crops and flips
  DATA = 2  # batch order (fine-tuning, icl's head route) and icl's prompts
  HEAD = 3  # a fresh head
  CONTEXT = 4  # icl's prediction contexts and the order of its pooled prequential data
  KNN_SUBSET = 5  # dynamic_knn's embedding subsets
  EPISODES = 6  # icl's meta-pretraining: the episodes scored on dev


def key_words(task_rng) -> list[int]:
  """The task key's raw uint32 words (typed or raw key), read once per task."""
  words = jax.random.key_data(task_rng) if jnp.issubdtype(task_rng.dtype, jax.dtypes.prng_key) else task_rng
  return np.asarray(words, dtype=np.uint32).ravel().tolist()


def derive_key(task_words: Sequence[int], seed: int, *path: int) -> np.ndarray:
  """(4,) uint32 key data hashed on the host from the task's key words, `seed` and `path`."""
  return np.random.SeedSequence([*task_words, seed, *path]).generate_state(4, np.uint32)


def wrap_key(key_data: jax.Array) -> jax.Array:
  """Key data from `derive_key` as a key, inside compiled code."""
  return jax.random.wrap_key_data(key_data, impl="unsafe_rbg")


# --- device and checkpoints ---------------------------------------------------------------------------


def to_device(tree):
  return jax.tree.map(jnp.asarray, tree)


def saved_list(leaves) -> list:
  """A checkpointed list, whichever of list, tuple or {"0": ..} form it comes back in."""
  if isinstance(leaves, dict):
    return [leaves[k] for k in sorted(leaves, key=int)]
  return list(leaves)


def same_shapes(a, b) -> bool:
  """Whether two pytrees have the same structure and leaf shapes."""
  a_leaves, a_def = jax.tree.flatten(a)
  b_leaves, b_def = jax.tree.flatten(b)
  return a_def == b_def and all(np.shape(x) == np.shape(y) for x, y in zip(a_leaves, b_leaves))


# --- batches --------------------------------------------------------------------------------------------


def map_batches(fn: Callable[[np.ndarray], Any], images, batch_size: int, *, pad: bool = True):
  """`fn` over `images` in order, `batch_size` rows at a time: the real rows of its outputs, concatenated.

  With `pad` the last batch is filled up to `batch_size` by repeating row 0, so every call has one shape
  (one compilation) and the padded rows are dropped; without, it keeps its own size. `fn` returns an array,
  or a list or tuple of arrays with one row per image; `map_batches` returns the same.
  """
  parts = []
  if pad:
    for batch in padded_batches(images, None, batch_size):
      parts.append(_rows(fn(batch["images"]), batch["mask"]))
  else:
    for start in range(0, len(images), batch_size):
      parts.append(_rows(fn(np.asarray(images[start:start + batch_size])), slice(None)))
  if parts and isinstance(parts[0], list):
    return [np.concatenate(column) for column in zip(*parts)]
  return np.concatenate(parts)


def _rows(output, rows):
  if isinstance(output, (list, tuple)):
    return [np.asarray(x)[rows] for x in output]
  return np.asarray(output)[rows]


# --- compiled functions -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Network:
  """What a network learner's compiled functions know of its model."""

  graphdef: Any  # the nnx graph; parameters travel as pure dicts
  tx: optax.GradientTransformation  # the optimiser, without its learning rate (`scheduled_update` applies it)
  image_size: int  # side of the network's input
  feature_dim: int  # width of the features a head reads


def bind(fn: Callable, *first: Any) -> Callable:
  """`fn` with its first arguments fixed, under `fn`'s name (the name the meter and the tests see)."""
  bound = functools.partial(fn, *first)
  bound.__name__ = bound.__qualname__ = fn.__name__
  return bound


def head_init(net: Network, key_data, outputs: int):
  kernel = jax.nn.initializers.lecun_normal()(wrap_key(key_data), (net.feature_dim, outputs), jnp.float32)
  return {"kernel": kernel, "bias": jnp.zeros((outputs,), jnp.float32)}


def optimizer_init(net: Network, params):
  return jax.tree.leaves(net.tx.init(params))


def train_preprocess(net: Network, key_data, images, min_area=augment.AREA_RANGE[0], flip_probability=0.5):
  return augment.train_preprocess(wrap_key(key_data), images, net.image_size, min_area, flip_probability)


def eval_preprocess(net: Network, images):
  return augment.eval_preprocess(images, net.image_size)


def common_definitions(net: Network) -> dict[str, tuple[Callable, dict[str, Any]]]:
  """What every network learner compiles besides its model: head and optimiser initialisers and the
  on-device preprocessing, as name -> (function, jit keyword arguments)."""
  return {
      "head_init": (bind(head_init, net), {"static_argnums": (1,)}),
      "optimizer_init": (bind(optimizer_init, net), {}),
      "train_preprocess": (bind(train_preprocess, net), {}),
      "eval_preprocess": (bind(eval_preprocess, net), {}),
  }


class CompiledFunctions:
  """A learner's computations by name, each compiled through a task's metered `jit`. Built once per network,
  so a function's identity (the jit cache key) is the same for every task and trial."""

  def __init__(self, network: Network, definitions: dict[str, tuple[Callable, dict[str, Any]]]):
    self.network = network
    self.definitions = definitions  # name -> (function, jit keyword arguments)
    self._compiled: dict[str, tuple[Any, Callable]] = {}

  def get(self, jit, name: str) -> Callable:
    """`name` compiled through `jit`, wrapped once per jit object."""
    cached = self._compiled.get(name)
    if cached is None or cached[0] is not jit:
      function, options = self.definitions[name]
      cached = self._compiled[name] = (jit, jit(function, **compiler_options.jit_options(**options)))
    return cached[1]


# --- optimisation -------------------------------------------------------------------------------------------


def warmup_cosine(step, peak, warmup_steps, total_steps, end: float = 0.0) -> jax.Array:
  """Learning rate at `step`: 0 -> peak linearly over warmup_steps, then cosine to `end` at total_steps
  (optax.warmup_cosine_decay_schedule with decay_steps = total_steps, as dm_nevis)."""
  step = jnp.asarray(step, jnp.float32)
  warmup = jnp.asarray(warmup_steps, jnp.float32)
  total = jnp.asarray(total_steps, jnp.float32)
  warm = peak * step / jnp.maximum(warmup, 1.0)
  progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1.0), 0.0, 1.0)
  cosine = end + (peak - end) * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
  return jnp.where(step < warmup, warm, cosine)


def optimizer_state(tx: optax.GradientTransformation, params, opt_leaves: list):
  """The optimiser state whose leaves are `opt_leaves` (states travel as flat lists: pytrees of arrays only)."""
  return jax.tree.unflatten(jax.tree.structure(tx.init(params)), opt_leaves)


def scheduled_update(tx: optax.GradientTransformation, params, grads, opt_state, step, peak_lr, warmup_steps,
                     total_steps, *, final_lr: float | None = None):
  """One optimiser step at the `warmup_cosine` learning rate: (params, opt_state). With `final_lr` the
  cosine ends at min(final_lr, peak_lr) (a trial at learning rate 0 stays frozen), else at 0."""
  updates, opt_state = tx.update(grads, opt_state, params)
  if final_lr is None:
    learning_rate = warmup_cosine(step, peak_lr, warmup_steps, total_steps)
  else:
    learning_rate = warmup_cosine(step, peak_lr, warmup_steps, total_steps, jnp.minimum(final_lr, peak_lr))
  return jax.tree.map(lambda p, u: p - learning_rate * u, params, updates), opt_state


# --- heads and losses ---------------------------------------------------------------------------------------


def head_outputs(num_classes: int, minimum: int = 16) -> int:
  """Width of the padded head: the smallest power of two >= max(num_classes, minimum)."""
  return 1 << (max(num_classes, minimum, 1) - 1).bit_length()


def padded_labels(labels, outputs: int, multi_label: bool) -> np.ndarray:
  """Labels as a train step takes them: int32 class ids, or multi-label rows padded to the head's width."""
  if not multi_label:
    return np.asarray(labels, dtype=np.int32)
  labels = np.asarray(labels, dtype=np.uint8)
  return np.pad(labels, ((0, 0), (0, outputs - labels.shape[1])))


def single_label_loss(logits, labels, num_classes, label_smoothing) -> jax.Array:
  """Softmax cross-entropy over the first `num_classes` columns; padded columns get probability 0."""
  valid = jnp.arange(logits.shape[-1]) < num_classes
  log_probs = jax.nn.log_softmax(jnp.where(valid, logits, -jnp.inf), axis=-1)
  log_probs = jnp.where(valid, log_probs, 0.0)  # -inf * 0 would be nan
  one_hot = jax.nn.one_hot(labels, logits.shape[-1])
  targets = (1.0 - label_smoothing) * one_hot + label_smoothing * valid / num_classes
  return -jnp.mean(jnp.sum(targets * log_probs, axis=-1))


def multi_label_loss(logits, labels, num_classes) -> jax.Array:
  """Mean sigmoid binary cross-entropy over examples and the first `num_classes` labels."""
  valid = jnp.arange(logits.shape[-1]) < num_classes
  per_label = optax.sigmoid_binary_cross_entropy(logits, labels.astype(logits.dtype))
  return jnp.sum(jnp.where(valid, per_label, 0.0)) / (logits.shape[0] * num_classes)


def loss(logits, labels, num_classes, label_smoothing, *, multi_label: bool) -> jax.Array:
  """The training loss of a head: sigmoid cross-entropy if multi-label, else smoothed softmax cross-entropy."""
  if multi_label:
    return multi_label_loss(logits, labels, num_classes)
  return single_label_loss(logits, labels, num_classes, label_smoothing)
