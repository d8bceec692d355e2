"""The run's raw PRNG keys, computed on the host: `jax.random.PRNGKey(seed)` and `jax.random.fold_in(key, i)`
for JAX's default threefry2x32 keys, bit for bit, without the XLA compilation each costs on first use
(about 0.15 s of CPU apiece, every run).

Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) as JAX
applies it: a key (k0, k1) encrypts the counter (0, data) to give the folded key. tests/nevis/test_host_keys.py
holds both functions to JAX's on many inputs; when the default PRNG is not threefry2x32 they defer to JAX.
"""
from __future__ import annotations

import jax
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA
_MASK = 0xFFFFFFFF


def _threefry() -> bool:
  return jax.config.jax_default_prng_impl == "threefry2x32"


def root_key(seed: int):
  """`jax.random.PRNGKey(seed)` (uint32[2]: (0, seed) for a 32-bit seed)."""
  if _threefry() and 0 <= seed <= _MASK:
    return np.array([0, seed], np.uint32)
  return jax.random.PRNGKey(seed)


def fold_in(key, data: int):
  """`jax.random.fold_in(key, data)` for a raw uint32[2] key and a 32-bit `data`, as a JAX array."""
  words = np.asarray(key)
  if not (_threefry() and words.shape == (2,) and words.dtype == np.uint32 and 0 <= data <= _MASK):
    return jax.random.fold_in(key, data)
  # device_put, not jnp.asarray: the same uncommitted uint32 array, without jnp's ~50 ms first call.
  return jax.device_put(np.array(_threefry2x32(int(words[0]), int(words[1]), 0, data), np.uint32))


def _threefry2x32(k0: int, k1: int, x0: int, x1: int) -> tuple[int, int]:
  keys = (k0, k1, k0 ^ k1 ^ _PARITY)
  x0, x1 = (x0 + keys[0]) & _MASK, (x1 + keys[1]) & _MASK
  for block in range(5):
    for rotation in _ROTATIONS[block % 2]:
      x0 = (x0 + x1) & _MASK
      x1 = ((x1 << rotation) | (x1 >> (32 - rotation))) & _MASK
      x1 ^= x0
    x0 = (x0 + keys[(block + 1) % 3]) & _MASK
    x1 = (x1 + keys[(block + 2) % 3] + block + 1) & _MASK
  return x0, x1
