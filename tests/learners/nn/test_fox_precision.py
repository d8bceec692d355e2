"""Long sequences: the running sum of log forget gates relative to each block's start, against float64.

With strongly forgetting heads (log f ~ -3) a float32 cumsum reaches |c| ~ 3e3 at T = 1024 and ~2.5e4 at
T = 8192; its rounding (ulp 2.4e-4 and 2e-3) used to reach the outputs (errors 2e-4 and 1.7e-3). The
tolerances below sit well under those errors and do not grow with T.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis.learners.nn import fox, fox_decay, fox_pallas

from . import oracles

BLOCK = 128
ATOL = 5e-5


@functools.cache
def _inputs(length):
  """B = 1, head 0 forgets strongly (gate logits ~ N(-3, 1)), head 1 weakly (~ N(4, 1)); head_dim 8."""
  rng = np.random.default_rng(length)
  q, k, v, d_out = (rng.normal(size=(1, length, 2, 8)).astype(np.float32) for _ in range(4))
  logits = np.stack([rng.normal(-3.0, 1.0, (1, length)), rng.normal(4.0, 1.0, (1, length))], -1)
  return q, k, v, np.asarray(fox.log_forget_gate(logits)), d_out


@functools.cache
def _reference(length):
  q, k, v, log_fgate, _ = _inputs(length)
  return oracles.fox_chunked(q, k, v, log_fgate)


def test_block_decay_keeps_differences_exact_whatever_the_length():
  _, _, _, log_fgate, _ = _inputs(8192)
  c64 = np.cumsum(log_fgate.astype(np.float64), axis=1)
  decay = fox_decay.block_decay(log_fgate, BLOCK)
  base = np.asarray(fox_decay.base_per_position(decay, BLOCK))
  local = np.asarray(decay.local)
  np.testing.assert_array_equal(base, np.round(base))  # integers: their sums and differences are exact
  float32_cumsum = np.asarray(jnp.cumsum(log_fgate, axis=1))
  # Within a block and across block boundaries: the error is that of a float32 sum of the gates in between
  # (relative to the difference) or of |local| (absolute), however large |c| is.
  for lag in (1, 5, BLOCK - 1, BLOCK, 3 * BLOCK + 7):
    want = c64[:, lag:] - c64[:, :-lag]
    got = (base[:, lag:] - base[:, :-lag]) + (local[:, lag:] - local[:, :-lag])
    np.testing.assert_allclose(got, want, rtol=4e-7, atol=ATOL, err_msg=f"lag {lag}")
    old = float32_cumsum[:, lag:] - float32_cumsum[:, :-lag]
    assert not np.allclose(old, want, rtol=4e-7, atol=ATOL) and np.abs(old - want).max() > 1e-3  # the old way
  # c itself, and the gradient of c (through `local`; round() has none): d c_t / d log f_s = [s <= t].
  np.testing.assert_allclose(base + local, c64, rtol=1e-6, atol=1e-4)
  weights = np.random.default_rng(0).normal(size=(1, 300, 2)).astype(np.float32)
  grad = jax.grad(lambda x: jnp.sum(weights * _running_sum(fox_decay.block_decay(x, 16), 16)))(log_fgate[:, :300])
  np.testing.assert_allclose(grad, np.flip(np.cumsum(np.flip(weights, 1), 1), 1), rtol=1e-5, atol=1e-5)


def _running_sum(decay, block):
  return fox_decay.base_per_position(decay, block) + decay.local


def _run(implementation, q, k, v, log_fgate):
  if implementation == "pallas_interpret":
    decay = fox_decay.block_decay(log_fgate, BLOCK)
    return fox_pallas.forgetting_attention_pallas(q, k, v, decay, None, block_size=BLOCK, interpret=True)
  return fox.forgetting_attention(q, k, v, log_fgate, implementation=implementation, block_size=BLOCK)


# Plain up to the length `auto` gives it (at T = 8192 it holds 2 x 8192^2 float32 logits; its error there: 2.4e-5).
@pytest.mark.parametrize("implementation,length", [("plain", 1024), ("blockwise", 1024), ("blockwise", 8192),
                                                   ("pallas_interpret", 1024), ("pallas_interpret", 8192)])
def test_long_sequence_output_matches_float64(implementation, length):
  q, k, v, log_fgate, _ = _inputs(length)
  out = np.asarray(_run(implementation, q, k, v, log_fgate))
  np.testing.assert_allclose(out, _reference(length), rtol=0, atol=ATOL)


def test_long_sequence_gradients_match_float64():
  q, k, v, log_fgate, d_out = _inputs(2048)
  _, want = oracles.fox_chunked(q, k, v, log_fgate, d_out)
  loss = lambda *xs: jnp.sum(fox.forgetting_attention(*xs, implementation="blockwise", block_size=BLOCK) * d_out)
  grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(q, k, v, log_fgate)
  for name, got, expected in zip(["q", "k", "v", "log_fgate"], grads, want):
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL, err_msg=name)
