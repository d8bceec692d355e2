"""Forgetting attention against float64 NumPy oracles: forward, gradients, ACP."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis.learners.nn import fox, fox_decay, fox_pallas

from . import oracles

IMPLEMENTATIONS = ["plain", "blockwise"]


def _inputs(seed, batch=2, length=21, heads=3, head_dim=8, gate_mean=2.0, scale=1.0):
  rng = np.random.default_rng(seed)
  q, k, v = (rng.normal(size=(batch, length, heads, head_dim)).astype(np.float32) * scale for _ in range(3))
  log_fgate = np.asarray(fox.log_forget_gate(rng.normal(gate_mean, 1.0, size=(batch, length, heads))))
  return q, k, v, log_fgate


def test_oracle_matrix_form_equals_product_form():
  q, k, v, log_fgate = _inputs(0, batch=1, length=7, heads=2, head_dim=4)
  matrix, _ = oracles.fox_forward(q, k, v, log_fgate)
  np.testing.assert_allclose(matrix, oracles.fox_product_form(q, k, v, log_fgate), rtol=0, atol=1e-12)


def test_oracle_backward_matches_finite_differences():
  q, k, v, log_fgate = _inputs(1, batch=1, length=5, heads=1, head_dim=3)
  d_out = np.random.default_rng(2).normal(size=q.shape)
  grads = oracles.fox_backward(q, k, v, log_fgate, d_out)
  inputs = [np.asarray(x, np.float64) for x in (q, k, v, log_fgate)]
  loss = lambda xs: np.sum(oracles.fox_forward(*xs)[0] * d_out)
  for which in range(4):
    for index in [(0, 0, 0, 0), (0, 4, 0, 2), (0, 2, 0, 1)]:
      index = index[:inputs[which].ndim]
      plus = [x.copy() for x in inputs]
      minus = [x.copy() for x in inputs]
      plus[which][index] += 1e-6
      minus[which][index] -= 1e-6
      numeric = (loss(plus) - loss(minus)) / 2e-6
      assert abs(numeric - grads[which][index]) < 1e-7, (which, index)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_without_forgetting_equals_causal_softmax_attention(implementation):
  q, k, v, _ = _inputs(3)
  out = fox.forgetting_attention(q, k, v, np.zeros(q.shape[:3], np.float32), implementation=implementation,
                                 block_size=8)
  expected = jax.nn.dot_product_attention(q, k, v, is_causal=True)
  np.testing.assert_allclose(out, expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("length,block", [(21, 8), (5, 16)])
def test_forward_matches_float64_oracle(implementation, length, block):
  q, k, v, log_fgate = _inputs(4, length=length)
  out = fox.forgetting_attention(q, k, v, log_fgate, implementation=implementation, block_size=block)
  expected, _ = oracles.fox_forward(q, k, v, log_fgate)
  assert out.dtype == jnp.float32 and out.shape == q.shape
  np.testing.assert_allclose(out, expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_gradients_match_float64_oracle(implementation):
  # Fast-forgetting gates (mean logit -1) give large |c|, exercising float32 cancellation in c_i - c_j.
  q, k, v, log_fgate = _inputs(5, length=19, gate_mean=-1.0)
  d_out = np.random.default_rng(6).normal(size=q.shape).astype(np.float32)
  attention = lambda *xs: fox.forgetting_attention(*xs, implementation=implementation, block_size=4)
  loss = lambda *xs: jnp.sum(attention(*xs) * d_out)
  grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(q, k, v, log_fgate)
  expected = oracles.fox_backward(q, k, v, log_fgate, d_out)
  for name, got, want in zip(["q", "k", "v", "log_fgate"], grads, expected):
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * max(1.0, np.abs(want).max()), err_msg=name)
  # f_1 never enters any decay F_ij, so its gradient is zero up to rounding.
  assert np.abs(np.asarray(grads[3])[:, 0]).max() < 1e-5
  assert np.abs(expected[3][:, 0]).max() < 1e-12


def test_blockwise_bfloat16_inputs_close_to_oracle():
  q, k, v, log_fgate = _inputs(7, length=24)
  q16, k16, v16 = (jnp.asarray(x, jnp.bfloat16) for x in (q, k, v))
  out = fox.forgetting_attention(q16, k16, v16, log_fgate, implementation="blockwise", block_size=8)
  assert out.dtype == jnp.bfloat16
  expected, _ = oracles.fox_forward(*(np.asarray(x, np.float32) for x in (q16, k16, v16)), log_fgate)
  np.testing.assert_allclose(np.asarray(out, np.float32), expected, rtol=0, atol=3e-2)


def test_rejects_bad_shapes_and_implementation():
  q, k, v, log_fgate = _inputs(8, length=4)
  with pytest.raises(ValueError, match="log_fgate"):
    fox.forgetting_attention(q, k, v, log_fgate[:, :3])
  with pytest.raises(ValueError, match="implementation"):
    fox.forgetting_attention(q, k, v, log_fgate, implementation="cuda")


# ---------------------------------------------------------------------------------------------------------
# ACP: strong decay on head 0 (log f = -3 per step), weak on head 1, so some tiles of head 0 are pruned.


def _strong_decay_inputs(length=40):
  q, k, v, _ = _inputs(9, length=length, heads=2, scale=0.5)
  log_fgate = np.zeros(q.shape[:3], np.float32)
  log_fgate[:, :, 0] = -3.0
  log_fgate[:, :, 1] = -0.01
  return q, k, v, log_fgate


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_acp_prunes_tiles_within_its_bound(implementation):
  q, k, v, log_fgate = _strong_decay_inputs()
  epsilon, block = 1e-3, 4
  out, stats = fox.forgetting_attention_with_stats(q, k, v, log_fgate, acp_epsilon=epsilon,
                                                   implementation=implementation, block_size=block)
  allowed, skipped = oracles.acp_allowed(q, k, log_fgate, epsilon, block)
  nb = 10
  assert int(stats.total_blocks) == 2 * 2 * nb * (nb + 1) // 2
  assert int(stats.pruned_blocks) == skipped > 0
  # Head 1 keeps every tile, so neither implementation skips any compute (see the tile-count tests below).
  assert int(stats.skipped_blocks) == 0 and float(stats.flops_saved) == 0.0
  # Only the strongly decaying head loses tiles.
  assert allowed[:, 1].all() and not allowed[:, 0][:, np.tril(np.ones((40, 40), bool))].all()

  full, probs = oracles.fox_forward(q, k, v, log_fgate)
  pruned_mass = np.where(allowed, 0.0, probs).sum(-1)
  assert pruned_mass.max() < epsilon
  assert np.abs(np.asarray(out) - full).max() <= 2 * epsilon * np.abs(v).max()
  # The pruned output is exactly attention restricted to the kept tiles.
  restricted, _ = oracles.fox_forward(q, k, v, log_fgate, allowed)
  np.testing.assert_allclose(out, restricted, rtol=0, atol=2e-6)


def test_acp_blockwise_gradients_match_pruned_oracle():
  q, k, v, log_fgate = _strong_decay_inputs(length=24)
  epsilon, block = 1e-3, 4
  d_out = np.random.default_rng(10).normal(size=q.shape).astype(np.float32)
  loss = lambda *xs: jnp.sum(fox.forgetting_attention(*xs, acp_epsilon=epsilon, implementation="blockwise",
                                                      block_size=block) * d_out)
  grads = jax.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, log_fgate)
  allowed, skipped = oracles.acp_allowed(q, k, log_fgate, epsilon, block)
  assert skipped > 0
  expected = oracles.fox_backward(q, k, v, log_fgate, d_out, allowed)
  for name, got, want in zip(["q", "k", "v", "log_fgate"], grads, expected):
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * max(1.0, np.abs(want).max()), err_msg=name)


def test_acp_kept_tiles_are_a_suffix_per_query_block_and_the_start_moves_right():
  q, k, v, log_fgate = _strong_decay_inputs(length=64)
  delta = fox.acp_threshold(q, k, 1e-3)
  keep = np.asarray(fox._keep_tiles(fox_decay.block_decay(log_fgate, 4), delta, 4))[0, 0]  # (nb, nb): batch 0, head 0
  starts = []
  for query_block, row in enumerate(keep):
    kept = np.nonzero(row[:query_block + 1])[0]
    assert kept[-1] == query_block and (np.diff(kept) == 1).all()  # pruned tiles are a prefix of the row
    starts.append(kept[0])
  assert (np.diff(starts) >= 0).all() and starts[-1] > 0


def test_acp_with_given_bound_and_stats_under_jit():
  q, k, v, log_fgate = _strong_decay_inputs()
  run = jax.jit(lambda *xs: fox.forgetting_attention_with_stats(*xs, acp_epsilon=1e-3, qk_bound=10.0,
                                                                implementation="blockwise", block_size=4))
  _, loose = run(q, k, v, log_fgate)
  _, tight = fox.forgetting_attention_with_stats(q, k, v, log_fgate, acp_epsilon=1e-3, block_size=4)
  assert 0 < int(loose.pruned_blocks) < int(tight.pruned_blocks)  # a looser bound prunes less
  _, off = fox.forgetting_attention_with_stats(q, k, v, log_fgate, block_size=4)
  assert int(off.skipped_blocks) == int(off.pruned_blocks) == 0


def _unequal_decay_inputs():
  """Head 0 forgets fast (log f = -3), head 1 slower (-1): far tiles are pruned by both, nearer ones by head 0."""
  q, k, v, log_fgate = _strong_decay_inputs()
  log_fgate[:, :, 1] = -1.0
  return q, k, v, log_fgate


def _count_tile_computations(monkeypatch, module, run) -> int:
  """How often `run()` computes a tile's logits, counted at run time inside the compiled program."""
  calls = []
  original = module._tile_logits

  def counting(*args, **kwargs):
    jax.debug.callback(lambda: calls.append(1))  # fires only where the tile is computed (not in a skipped cond)
    return original(*args, **kwargs)

  monkeypatch.setattr(module, "_tile_logits", counting)
  jax.block_until_ready(run())
  jax.effects_barrier()
  return len(calls)


@pytest.mark.parametrize("implementation", ["blockwise", "pallas"])
def test_acp_stats_report_the_tiles_the_implementation_skipped(monkeypatch, implementation):
  q, k, v, log_fgate = _unequal_decay_inputs()
  epsilon, block, (batch, _, heads, head_dim) = 1e-3, 4, q.shape
  # A fresh jit of the unjitted function, so that the counting tile is traced in (not a cached program).
  run = jax.jit(functools.partial(fox.forgetting_attention_with_stats.__wrapped__, acp_epsilon=epsilon,
                                  implementation=implementation, block_size=block))
  calls = _count_tile_computations(monkeypatch, fox, lambda: run(q, k, v, log_fgate))
  _, stats = run(q, k, v, log_fgate)
  computed = calls * batch * heads  # each blockwise step computes one tile of every (batch, head)
  assert int(stats.skipped_blocks) == int(stats.total_blocks) - computed > 0
  assert float(stats.flops_saved) == int(stats.skipped_blocks) * 4 * block * block * head_dim
  _, pruned = oracles.acp_allowed(q, k, log_fgate, epsilon, block)
  assert int(stats.pruned_blocks) == pruned > int(stats.skipped_blocks)  # tiles only head 0 prunes still run
  # Plain masks the materialised T x T logits: it prunes the same tiles and skips none.
  _, plain = fox.forgetting_attention_with_stats(q, k, v, log_fgate, acp_epsilon=epsilon, implementation="plain",
                                                 block_size=block)
  assert int(plain.pruned_blocks) == pruned and int(plain.skipped_blocks) == 0 and float(plain.flops_saved) == 0


@pytest.mark.parametrize("inner", [None, 2])
def test_acp_tiles_skipped_by_the_kernels_are_counted_per_batch_and_head(monkeypatch, inner):
  q, k, v, log_fgate = _unequal_decay_inputs()
  epsilon, block, (batch, length, heads, _) = 1e-3, 4, q.shape
  steps_per_tile = block // (inner or block)
  calls = _count_tile_computations(monkeypatch, fox_pallas,
                                   lambda: _pallas(q, k, v, log_fgate, block, epsilon, inner))  # forward only
  keep = fox._keep_tiles(fox_decay.block_decay(log_fgate, block), fox.acp_threshold(q, k, epsilon), block)
  skipped = int(fox.skipped_tiles(keep, "pallas"))
  nb = -(-length // block)
  assert calls == (batch * heads * nb * (nb + 1) // 2 - skipped) * steps_per_tile
  _, pruned = oracles.acp_allowed(q, k, log_fgate, epsilon, block)
  assert skipped == pruned > int(fox.skipped_tiles(keep, "blockwise")) > 0


# ---------------------------------------------------------------------------------------------------------
# Pallas kernels: run here in interpret mode against the oracle; lowered for CUDA to check they compile
# to Triton; under `implementation="pallas"` a CPU runs (and the meter counts) the blockwise twin.


def _pallas(q, k, v, log_fgate, block, acp_epsilon=None, inner=None):
  """The kernels (interpret mode) on the same tiles and ACP mask as `fox.forgetting_attention`."""
  decay = fox_decay.block_decay(log_fgate, block)
  keep = None
  if acp_epsilon is not None:
    keep = fox._keep_tiles(decay, fox.acp_threshold(q, k, acp_epsilon), block)
  return fox_pallas.forgetting_attention_pallas(q, k, v, decay, keep, block_size=block, interpret=True,
                                                config=fox_pallas.KernelConfig(inner_block=inner))


def _assert_gradients_match(grads, expected):
  for name, got, want in zip(["q", "k", "v", "log_fgate"], grads, expected):
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * max(1.0, np.abs(want).max()), err_msg=name)


@pytest.mark.parametrize("length,block,inner", [(21, 8, None), (21, 8, 2), (16, 4, 4), (5, 8, 4)])
def test_pallas_kernels_match_float64_oracle(length, block, inner):
  q, k, v, log_fgate = _inputs(11, length=length, gate_mean=-1.0)
  d_out = np.random.default_rng(12).normal(size=q.shape).astype(np.float32)
  out = _pallas(q, k, v, log_fgate, block, inner=inner)
  np.testing.assert_allclose(out, oracles.fox_forward(q, k, v, log_fgate)[0], rtol=0, atol=2e-6)
  loss = lambda *xs: jnp.sum(_pallas(*xs, block, inner=inner) * d_out)
  grads = jax.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, log_fgate)
  _assert_gradients_match(grads, oracles.fox_backward(q, k, v, log_fgate, d_out))
  assert np.abs(np.asarray(grads[3])[:, 0]).max() < 1e-5  # the first gate never enters a decay


@pytest.mark.parametrize("inner", [None, 2])
def test_pallas_kernels_with_acp_match_pruned_oracle(inner):
  q, k, v, log_fgate = _strong_decay_inputs(length=24)
  epsilon, block = 1e-3, 4
  allowed, skipped = oracles.acp_allowed(q, k, log_fgate, epsilon, block)
  assert skipped > 0
  out = _pallas(q, k, v, log_fgate, block, epsilon, inner)
  np.testing.assert_allclose(out, oracles.fox_forward(q, k, v, log_fgate, allowed)[0], rtol=0, atol=2e-6)
  d_out = np.random.default_rng(13).normal(size=q.shape).astype(np.float32)
  loss = lambda *xs: jnp.sum(_pallas(*xs, block, epsilon, inner) * d_out)
  grads = jax.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, log_fgate)
  _assert_gradients_match(grads, oracles.fox_backward(q, k, v, log_fgate, d_out, allowed))


def test_pallas_kernels_prune_the_same_tiles_as_blockwise_when_gates_exceed_one():
  # log f > 0 on some steps makes c rise. Head 0 below: key 0 has the lowest c, so it dominates every row;
  # c dips at position 8 (the first row of query block 2), which prunes tiles (2, 0) and (2, 1) while
  # (3, 0) is kept: column 0 is no longer a run, and a kernel that visited (2, 0) would show it.
  q, k, v, log_fgate = _strong_decay_inputs(length=24)
  c = np.zeros(24, np.float32)
  c[:9] = [-100, -60, -30, -12, -9, -6, -3, 0, -30]
  log_fgate[:, :, 0] = np.diff(c, prepend=0.0)
  epsilon, block = 1e-3, 4
  keep = np.asarray(fox._keep_tiles(fox_decay.block_decay(log_fgate, block), fox.acp_threshold(q, k, epsilon),
                                    block))
  assert not keep[0, 0, 2, 0] and keep[0, 0, 3, 0]
  d_out = np.random.default_rng(14).normal(size=q.shape).astype(np.float32)
  blockwise = lambda *xs: fox.forgetting_attention(*xs, acp_epsilon=epsilon, implementation="blockwise",
                                                   block_size=block)
  pallas = lambda *xs: _pallas(*xs, block, epsilon, inner=2)
  _, stats = fox.forgetting_attention_with_stats(q, k, v, log_fgate, acp_epsilon=epsilon, block_size=block)
  assert int(stats.pruned_blocks) > 0
  for fn in (blockwise, pallas):
    np.testing.assert_allclose(fn(q, k, v, log_fgate), fox.forgetting_attention(
        q, k, v, log_fgate, acp_epsilon=epsilon, implementation="plain", block_size=block), rtol=0, atol=2e-6)
  loss = lambda fn: (lambda *xs: jnp.sum(fn(*xs) * d_out))
  want = jax.grad(loss(blockwise), argnums=(0, 1, 2, 3))(q, k, v, log_fgate)
  got = jax.grad(loss(pallas), argnums=(0, 1, 2, 3))(q, k, v, log_fgate)
  _assert_gradients_match(got, [np.asarray(w) for w in want])


def test_pallas_forward_and_backward_lower_to_triton_for_cuda():
  q, k, v, log_fgate = (jnp.asarray(x) for x in _strong_decay_inputs(length=256))
  q, k, v = (jnp.tile(x, (1, 1, 1, 4)).astype(jnp.bfloat16) for x in (q, k, v))  # head_dim 32
  grad = jax.grad(lambda *xs: jnp.sum(fox.forgetting_attention(
      *xs, acp_epsilon=1e-3, implementation="pallas", block_size=64).astype(jnp.float32)), argnums=(0, 1, 2, 3))
  text = fox_pallas.lower_for_gpu(grad, q, k, v, log_fgate)
  assert "forgetting_attention_fwd" in text and "forgetting_attention_bwd" in text
  assert "__gpu$xla.gpu.triton" in text
  with pytest.raises(ValueError, match="must divide"):
    fox_pallas.forgetting_attention_pallas(q, k, v, fox_decay.block_decay(log_fgate, 64), None, block_size=64,
                                           config=fox_pallas.KernelConfig(inner_block=48))


def test_pallas_implementation_runs_and_is_metered_as_blockwise_off_gpu():
  from nevis.metrics import flops

  q, k, v, log_fgate = _inputs(15, length=24)
  d_out = np.random.default_rng(16).normal(size=q.shape).astype(np.float32)
  step = lambda impl: jax.grad(lambda *xs: jnp.sum(fox.forgetting_attention(
      *xs, implementation=impl, block_size=8) * d_out), argnums=(0, 1, 2, 3))
  for got, want in zip(step("pallas")(q, k, v, log_fgate), step("blockwise")(q, k, v, log_fgate)):
    np.testing.assert_array_equal(got, want)
  counted = flops.count_flops(step("pallas"), (q, k, v, log_fgate))
  assert counted == flops.count_flops(step("blockwise"), (q, k, v, log_fgate)) > 0
