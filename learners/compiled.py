"""What the fine-tuning and ICL learners compile besides their model, and the by-name cache of compiled
functions (one per architecture config, so the metered jit compiles once per stream, not per task)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from nevis.learners import augment
from nevis.learners.recipe import wrap_key


def common_definitions(tx, image_size: int, feature_dim: int) -> dict[str, tuple[Callable, dict[str, Any]]]:
  """What every fine-tuning learner compiles besides its model: head and optimiser initialisers and the
  on-device preprocessing, as name -> (function, jit keyword arguments)."""

  def head_init(key_data, outputs: int):
    kernel = jax.nn.initializers.lecun_normal()(wrap_key(key_data), (feature_dim, outputs), jnp.float32)
    return {"kernel": kernel, "bias": jnp.zeros((outputs,), jnp.float32)}

  def optimizer_init(params):
    return jax.tree.leaves(tx.init(params))

  def train_preprocess(key_data, images):
    return augment.train_preprocess(wrap_key(key_data), images, image_size)

  def eval_preprocess(images):
    return augment.eval_preprocess(images, image_size)

  return {
      "head_init": (head_init, {"static_argnums": (1,)}),
      "optimizer_init": (optimizer_init, {}),
      "train_preprocess": (train_preprocess, {}),
      "eval_preprocess": (eval_preprocess, {}),
  }


class CompiledFunctions:
  """A learner's computations by name, each compiled through a task's metered `jit`. Built once per
  architecture config, so their identity (the jit cache key) is the same for every task and trial."""

  definitions: dict[str, tuple[Callable, dict[str, Any]]]  # name -> (function, jit keyword arguments)

  def get(self, jit, name: str) -> Callable:
    """`name` compiled through `jit`, wrapped once per jit object."""
    compiled = self.__dict__.setdefault("_compiled", {})
    cached = compiled.get(name)
    if cached is None or cached[0] is not jit:
      function, options = self.definitions[name]
      cached = compiled[name] = (jit, jit(function, **options))
    return cached[1]
