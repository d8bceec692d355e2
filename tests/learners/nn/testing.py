"""Shared helpers for the sequence-layer tests.

Compiling is most of these tests' cost (every new shape of a random init or of an eager op compiles),
so the tests share a few sizes, draw inputs with NumPy and call modules through these jitted helpers
(one function object each, so equal models and shapes hit the compile cache across tests).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx


def normal(shape, seed: int = 0, scale: float = 1.0) -> np.ndarray:
  return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


apply = nnx.jit(lambda module, *args: module(*args))
extend = nnx.jit(lambda module, x, cache: module.extend(x, cache))
grad_of_sum_of_squares = nnx.jit(lambda module, *args: nnx.grad(lambda m: jnp.sum(m(*args) ** 2))(module))
