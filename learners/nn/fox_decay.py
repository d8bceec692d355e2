"""The running sum of log forget gates, c_t = sum_{s<=t} log f_s, kept relative to each block's start.

One float32 cumulative sum carries an absolute error of about ulp(|c_t|), which grows with t: with strongly
forgetting heads (log f ~ -3), |c| reaches ~3e3 at T = 1024 and ~2.5e4 at T = 8192 (ulp 2.4e-4 and 2e-3),
and every logit c_i - c_j near the diagonal inherits that error. Attention needs differences only, so c is
kept in two float32 parts; for position t in block b (block = the attention tile):

    c_t = base[b] + local[t]
    base[b]  = sum over earlier blocks of round(block total)    (integers, so exact while |c| < 2^24)
    local[t] = sum of log f from block b's start to t + sum over earlier blocks of (total - round(total))

A tile adds (base[b_i] - base[b_j]) + (local[i] - local[j]): an exact integer plus a difference with an
error of about ulp(|local|), where |local| <= one block's |total| + half a unit per earlier block.
Gradients: round() has none, so d c_t / d log f_s = 1 for s <= t flows through `local` alone.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# Shared by every implementation (`fox` and the kernels of `fox_pallas`). Finite, so that masked logits never
# produce inf - inf = NaN in values or gradients.
MASK_VALUE = -0.7 * float(np.finfo(np.float32).max)


class BlockDecay(NamedTuple):
  """c = cumsum(log f) as c_t = base[t // block] + local[t]: local (B, T, H), base (B, nb, H), float32."""
  local: jax.Array
  base: jax.Array


def num_blocks(length: int, block: int) -> int:
  return -(-length // block)


def block_decay(log_fgate: jax.Array, block: int) -> BlockDecay:
  """The running sum of log_fgate (B, T, H) relative to each block's start (module docstring)."""
  batch, length, heads = log_fgate.shape
  nb = num_blocks(length, block)
  x = jnp.pad(log_fgate.astype(jnp.float32), ((0, 0), (0, nb * block - length), (0, 0)))
  within = jnp.cumsum(x.reshape(batch, nb, block, heads), axis=2)
  total = within[:, :, -1]
  whole = jnp.round(total)
  carried = _exclusive_cumsum(total - whole)  # |total - whole| <= 1/2 per block, exact subtraction
  local = (within + carried[:, :, None]).reshape(batch, nb * block, heads)[:, :length]
  return BlockDecay(local, _exclusive_cumsum(whole))


def base_per_position(decay: BlockDecay, block: int) -> jax.Array:
  """base[t // block] as (B, T, H)."""
  return jnp.repeat(decay.base, block, axis=1)[:, :decay.local.shape[1]]


def _exclusive_cumsum(x: jax.Array) -> jax.Array:
  """Sums over earlier blocks (axis 1), the first being 0; a padded cumsum, so integers stay exact."""
  return jnp.concatenate([jnp.zeros_like(x[:, :1]), jnp.cumsum(x[:, :-1], axis=1)], axis=1)
