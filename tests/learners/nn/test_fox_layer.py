"""The FoX (Pro) attention layer."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.learners.nn import fox_layer
from nevis.learners.nn.fox_layer import PRO_OPTIONS, ForgettingAttentionLayer

from .testing import apply, grad_of_sum_of_squares, normal

D, HEADS = 16, 2  # shared sizes (see testing.py)


def _x(length=12, seed=0):
  return normal((2, length, D), seed)


def test_token_shift_identity_and_copy():
  x = jnp.arange(2 * 3 * 2 * 4, dtype=jnp.float32).reshape(2, 3, 2, 4)
  np.testing.assert_array_equal(fox_layer.token_shift(x, jnp.zeros((2, 3, 2))), x)
  shifted = fox_layer.token_shift(x, jnp.ones((2, 3, 2)))
  np.testing.assert_array_equal(shifted[:, 0], 0.0)
  np.testing.assert_array_equal(shifted[:, 1:], x[:, :-1])
  half = fox_layer.token_shift(x, jnp.full((2, 3, 2), 0.5))
  np.testing.assert_allclose(half[:, 2], 0.5 * (x[:, 1] + x[:, 2]))


def test_head_rms_norm_per_head():
  x = jnp.array([[[[3.0, 4.0], [1.0, 1.0]]]])  # (1, 1, 2 heads, 2)
  out = fox_layer.head_rms_norm(x, jnp.array([1.0, 1.0, 2.0, 2.0]), 0.0)
  rms = np.sqrt(12.5)
  np.testing.assert_allclose(out[0, 0], [[3 / rms, 4 / rms], [2.0, 2.0]], rtol=1e-6)


def test_zero_bias_gate_starts_at_one_half_and_bias_only_gate_is_constant():
  layer = ForgettingAttentionLayer(D, HEADS, rngs=nnx.Rngs(0))
  log_f = layer.log_forget_gate(_x())
  assert log_f.shape == (2, 12, HEADS) and log_f.dtype == jnp.float32
  f = np.exp(np.asarray(log_f))  # N(0, 0.02) weights and zero bias: logits ~ N(0, 0.08^2)
  assert abs(f.mean() - 0.5) < 0.02 and np.abs(f - 0.5).max() < 0.15
  layer = ForgettingAttentionLayer(D, HEADS, forget_gate="bias_only", fgate_bias_init=2.0, rngs=nnx.Rngs(0))
  np.testing.assert_allclose(jnp.exp(layer.log_forget_gate(_x())), jax.nn.sigmoid(2.0), rtol=1e-6)


@pytest.mark.parametrize("options", [{}, PRO_OPTIONS, {"forget_gate": "none"}])
def test_layer_is_causal(options):
  layer = ForgettingAttentionLayer(D, HEADS, rngs=nnx.Rngs(1), **options)
  x = _x()
  y = apply(layer, x)
  assert y.shape == x.shape
  changed = x.copy()
  changed[:, 7:] = 5.0
  y_changed_future = apply(layer, changed)
  np.testing.assert_allclose(y_changed_future[:, :7], y[:, :7], atol=1e-6)
  assert np.abs(np.asarray(y_changed_future[:, 7:] - y[:, 7:])).max() > 1e-4


def test_bidirectional_softmax_sees_the_future_and_forget_gate_requires_causal():
  layer = ForgettingAttentionLayer(D, HEADS, forget_gate="none", causal=False, rngs=nnx.Rngs(1))
  x = _x()
  changed = x.copy()
  changed[:, 7:] = 5.0
  assert np.abs(np.asarray(apply(layer, changed)[:, 0] - apply(layer, x)[:, 0])).max() > 1e-4
  with pytest.raises(ValueError, match="causal"):
    ForgettingAttentionLayer(D, HEADS, causal=False, rngs=nnx.Rngs(1))


def test_no_gate_layer_equals_fox_with_zero_log_gate():
  gated = ForgettingAttentionLayer(D, HEADS, forget_gate="bias_only", fgate_bias_init=30.0, rngs=nnx.Rngs(2))
  plain = ForgettingAttentionLayer(D, HEADS, forget_gate="none", rngs=nnx.Rngs(2))
  x = _x()
  # sigmoid(30) = 1 - 9e-14: log f is ~0, so FoX reduces to causal softmax attention.
  np.testing.assert_allclose(apply(gated, x), apply(plain, x), atol=1e-6)


def test_qk_norm_bound_holds_and_acp_stats_are_recorded():
  layer = ForgettingAttentionLayer(D, HEADS, rngs=nnx.Rngs(3), acp_epsilon=1e-4, record_acp_stats=True,
                                   block_size=4, **PRO_OPTIONS)
  layer.q_norm_scale[...] = layer.q_norm_scale[...] * np.linspace(0.5, 1.5, D, dtype=np.float32)
  x = _x(length=16)
  q, k, _, _, _ = nnx.jit(lambda m, x: m._project(x, None))(layer, x)
  scores = np.abs(np.einsum("bqhd,bkhd->bhqk", q, k)) / np.sqrt(D // HEADS)
  bound = np.asarray(layer._qk_bound_from_norm_scales())
  assert bound.shape == (HEADS,)
  assert (scores.max(axis=(0, 2, 3)) <= bound).all()
  _, intermediates = nnx.jit(nnx.capture(lambda m, x: m(x), nnx.Intermediate))(layer, x)
  stats = intermediates["acp_stats"].get_value()[0]
  assert int(stats["total_blocks"]) == 2 * HEADS * 4 * 5 // 2


def test_pro_layer_gradients_reach_every_parameter():
  layer = ForgettingAttentionLayer(D, HEADS, rngs=nnx.Rngs(4), **PRO_OPTIONS)
  x = _x()
  grads = grad_of_sum_of_squares(layer, x)
  for path, g in jax.tree_util.tree_leaves_with_path(grads):
    assert np.isfinite(np.asarray(g)).all() and np.abs(np.asarray(g)).max() > 0, path
