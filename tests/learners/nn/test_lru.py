"""RG-LRU: associative scan against a loop, resets, initialisation."""
from __future__ import annotations

import jax
import numpy as np
from flax import nnx

from nevis.learners.nn import lru

from . import oracles
from .testing import apply, normal

D, HEADS = 16, 2  # shared sizes (see testing.py)


def test_associative_scan_equals_sequential_loop():
  rng = np.random.default_rng(0)
  a = rng.uniform(0.0, 1.0, size=(2, 12, D)).astype(np.float32)
  b = rng.normal(size=(2, 12, D)).astype(np.float32)
  np.testing.assert_allclose(lru.linear_recurrence(a, b), oracles.linear_recurrence(a, b), rtol=1e-5,
                             atol=1e-6)
  initial = rng.normal(size=(2, D)).astype(np.float32)
  b_with_initial = b.copy()
  b_with_initial[:, 0] += a[:, 0] * initial
  np.testing.assert_allclose(lru.linear_recurrence(a, b, initial),
                             oracles.linear_recurrence(a, b_with_initial), rtol=1e-5, atol=1e-6)


def _rglru_loop(layer: lru.RGLRU, x: np.ndarray, reset: np.ndarray) -> np.ndarray:
  """The RG-LRU equations step by step in float64."""
  x = np.asarray(x, np.float64)
  gate_x = 1 / (1 + np.exp(-np.asarray(apply(layer.input_gate, x.astype(np.float32)), np.float64)))
  gate_a = 1 / (1 + np.exp(-np.asarray(apply(layer.a_gate, x.astype(np.float32)), np.float64)))
  base = np.exp(-np.log1p(np.exp(np.asarray(layer.a_param[...], np.float64))))  # a = exp(-softplus(L))
  h = np.zeros((x.shape[0], x.shape[2]))
  out = np.zeros(x.shape)
  for t in range(x.shape[1]):
    a_t = base ** (8.0 * gate_a[:, t])
    start = reset[:, t, None]
    h = np.where(start, 0.0, a_t * h) + np.where(start, 1.0, np.sqrt(1 - a_t ** 2)) * gate_x[:, t] * x[:, t]
    out[:, t] = h
  return out


def test_rglru_matches_the_equations_with_resets():
  layer = lru.RGLRU(D, HEADS, rngs=nnx.Rngs(0))
  x = normal((2, 11, D), seed=1)
  reset = np.zeros((2, 11), bool)
  reset[:, 0] = True
  reset[1, 6] = True
  y, last = apply(layer, x, reset)
  expected = _rglru_loop(layer, x, reset)
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(last, expected[:, -1], rtol=1e-5, atol=1e-5)
  # At a reset the state is i_t * x_t: nothing of the past survives.
  gate_x = np.asarray(jax.nn.sigmoid(apply(layer.input_gate, x)))
  np.testing.assert_allclose(y[:, 0], gate_x[:, 0] * x[:, 0], rtol=1e-6)
  np.testing.assert_allclose(y[1, 6], gate_x[1, 6] * x[1, 6], rtol=1e-6)


def test_reset_makes_packed_sequences_independent():
  block = lru.RecurrentBlock(D, HEADS, rngs=nnx.Rngs(2))
  first, second = normal((1, 6, D), seed=3), normal((1, 6, D), seed=4)
  packed = np.concatenate([first, second], axis=1)
  reset = np.zeros((1, 12), bool)
  reset[:, [0, 6]] = True
  out = apply(block, packed, reset)
  np.testing.assert_allclose(out[:, :6], apply(block, first, None), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out[:, 6:], apply(block, second, None), rtol=1e-5, atol=1e-6)
  # Without the reset the second sequence sees the first.
  assert np.abs(np.asarray(apply(block, packed, None)[:, 6:] - apply(block, second, None))).max() > 1e-4


def test_batch_rows_are_independent_and_causal():
  block = lru.RecurrentBlock(D, HEADS, rngs=nnx.Rngs(5))
  x = normal((3, 12, D), seed=6)
  out = apply(block, x, None)
  changed_row, changed_future = x.copy(), x.copy()
  changed_row[0] = 7.0
  changed_future[:, 6:] = 7.0
  np.testing.assert_allclose(apply(block, changed_row, None)[1:], out[1:], rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(apply(block, changed_future, None)[:, :6], out[:, :6], rtol=1e-6, atol=1e-6)


def test_decay_initialisation_range_and_bounded_sqrt_gradient():
  a_param = lru.rnn_param_init(jax.random.key(7), 4096, 0.5, 0.999)
  a = np.exp(-np.log1p(np.exp(np.asarray(a_param, np.float64))))
  assert 0.5 - 1e-4 <= a.min() and a.max() <= 0.999 + 1e-6
  assert a.min() < 0.55 and a.max() > 0.99  # spread over the whole ring
  assert abs(np.mean(a ** 2) - (0.25 + 0.998) / 2) < 0.02  # a^2 uniform
  grad = jax.grad(lru.sqrt_bounded_derivative)(0.0)
  assert np.isfinite(grad) and grad <= 1000.0
  np.testing.assert_allclose(jax.grad(lru.sqrt_bounded_derivative)(0.25), 1.0)


def test_conv_does_not_cross_a_reset():
  conv = lru.CausalConv1D(D, 4, rngs=nnx.Rngs(8))
  x = normal((1, 12, D), seed=9)
  reset = np.zeros((1, 12), bool)
  reset[:, [0, 6]] = True
  out = np.asarray(apply(conv, x, reset))
  np.testing.assert_allclose(out[:, 6:], apply(conv, x[:, 6:], reset[:, :6]), rtol=1e-6, atol=1e-7)
  kernel, bias = np.asarray(conv.kernel[...]), np.asarray(conv.bias[...])
  expected_t2 = x[0, 2] * kernel[0] + x[0, 1] * kernel[1] + x[0, 0] * kernel[2] + bias
  np.testing.assert_allclose(out[0, 2], expected_t2, rtol=1e-6, atol=1e-7)
