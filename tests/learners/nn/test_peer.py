"""PEER: product-key retrieval, dense equivalences, sparse gradients, a million experts."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from nevis.learners.nn import peer
from nevis.learners.nn.peer import PEER

from .testing import apply, grad_of_sum_of_squares, normal

# Shared sizes (see testing.py): width 16, query dim 4, 2 heads, 16 or 64 experts.
D, DQ, HEADS = 16, 4, 2


def _peer(num_experts=64, top_k=2, seed=0, **kwargs) -> PEER:
  return PEER(D, num_experts=num_experts, num_heads=HEADS, top_k=top_k, d_query=DQ, rngs=nnx.Rngs(seed),
              **kwargs)


@pytest.mark.parametrize("side,top_k", [(8, 5), (6, 36), (10, 1)])
def test_product_key_top_k_equals_brute_force(side, top_k):
  rng = np.random.default_rng(side)
  queries = rng.normal(size=(7, 3, 12)).astype(np.float32)
  sub_keys = rng.normal(size=(2, side, 6)).astype(np.float32)
  indices, scores = peer.product_key_top_k(jnp.asarray(queries), jnp.asarray(sub_keys), top_k)
  # All N = side^2 full keys [c_a; c'_b] with index a * side + b.
  a, b = np.divmod(np.arange(side * side), side)
  full_keys = np.concatenate([sub_keys[0][a], sub_keys[1][b]], axis=-1).astype(np.float64)
  all_scores = queries.astype(np.float64) @ full_keys.T  # (7, 3, N)
  expected = np.argsort(-all_scores, axis=-1)[..., :top_k]
  np.testing.assert_array_equal(indices, expected)
  np.testing.assert_allclose(scores, np.take_along_axis(all_scores, expected, -1), rtol=1e-5, atol=1e-5)


def _dense_soft_mixture(layer: PEER, x: jax.Array) -> np.ndarray:
  """sum_h sum_i softmax_i(q_h . k_i) act(u_i . x) v_i over all N experts, float64."""
  q = np.asarray(nnx.jit(lambda m, x: m.queries(x))(layer, x), np.float64)  # (n, h, d_q)
  sub_keys = np.asarray(layer.sub_keys[...], np.float64)
  side = layer.num_sub_keys
  a, b = np.divmod(np.arange(side * side), side)
  keys = np.concatenate([sub_keys[0][a], sub_keys[1][b]], axis=-1)
  logits = q @ keys.T
  gates = np.exp(logits - logits.max(-1, keepdims=True))
  gates /= gates.sum(-1, keepdims=True)
  x64 = np.asarray(x, np.float64)
  pre = x64 @ np.asarray(layer.expert_down[...], np.float64).T  # (n, N)
  hidden = 0.5 * pre * (1 + np.tanh(np.sqrt(2 / np.pi) * (pre + 0.044715 * pre ** 3)))  # jax.nn.gelu (tanh)
  return np.einsum("nhe,ne,eo->no", gates, hidden, np.asarray(layer.expert_up[...], np.float64))


def test_k_equal_n_is_the_dense_soft_mixture():
  layer = _peer(num_experts=16, top_k=16)
  x = normal((5, D))
  np.testing.assert_allclose(apply(layer, x), _dense_soft_mixture(layer, x), rtol=1e-5, atol=1e-5)


def test_k_one_with_sigmoid_scores_is_a_dense_mlp_on_retrieved_neurons():
  layer = _peer(top_k=1, activation="relu", score_activation="sigmoid")
  x = normal((3, D), seed=1)
  indices, scores = (np.asarray(a) for a in _retrieve(layer, x))
  down, up = np.asarray(layer.expert_down[...]), np.asarray(layer.expert_up[...])
  # h heads x 1 neuron: an MLP of the h retrieved neurons, each scaled by sigmoid(score).
  neurons = indices[:, :, 0]
  gates = 1 / (1 + np.exp(-scores[:, :, 0]))
  hidden = np.maximum(0.0, np.einsum("nd,nhd->nh", x, down[neurons])) * gates
  expected = np.einsum("nh,nhd->nd", hidden, up[neurons])
  np.testing.assert_allclose(apply(layer, x), expected, rtol=1e-5, atol=1e-6)


_retrieve = nnx.jit(lambda m, x: m.retrieve(x))


def test_gradients_reach_only_retrieved_rows():
  layer = _peer(top_k=3)
  x = normal((5, D), seed=2)
  grads = grad_of_sum_of_squares(layer, x)
  retrieved = np.unique(np.asarray(_retrieve(layer, x)[0]))
  assert 0 < len(retrieved) < 64
  for table in ("expert_down", "expert_up"):
    rows_with_gradient = np.nonzero(np.abs(np.asarray(grads[table][...])).sum(-1))[0]
    np.testing.assert_array_equal(rows_with_gradient, retrieved)
  assert np.abs(np.asarray(grads["sub_keys"][...])).max() > 0  # through the retrieved scores
  assert np.abs(np.asarray(grads["query_proj"]["kernel"][...])).max() > 0


def test_a_million_experts_forward_and_backward():
  layer = PEER(4, num_experts=1024 ** 2, num_heads=2, top_k=4, d_query=4, token_chunk=8, rngs=nnx.Rngs(3))
  x = normal((2, 6, 4), seed=3)
  grads = grad_of_sum_of_squares(layer, x)
  retrieved = np.unique(np.asarray(_retrieve(layer, x.reshape(-1, 4))[0]))
  rows = np.nonzero(np.abs(np.asarray(grads["expert_up"][...])).sum(-1))[0]
  np.testing.assert_array_equal(rows, retrieved)
  assert retrieved.max() >= 1024  # indices span the product space, not one sub-key table


def test_token_chunking_changes_nothing():
  chunked, whole = _peer(token_chunk=4), _peer()
  x = normal((3, 7, D), seed=4)
  # 21 tokens in chunks of 4: the last chunk is padded. (Gradients through the chunks: the test above.)
  np.testing.assert_allclose(apply(chunked, x), apply(whole, x), rtol=1e-6, atol=1e-6)


def test_batchnorm_query_norm_trains_and_evaluates():
  layer = _peer(query_norm="batchnorm")
  x = normal((10, D), seed=5)
  before = np.asarray(layer.query_norm.mean[...]).copy()
  y_train = apply(layer, x)
  assert np.abs(np.asarray(layer.query_norm.mean[...]) - before).max() > 0  # running stats moved
  layer.eval()
  y_eval = apply(layer, x)
  assert y_train.shape == y_eval.shape == (10, D)
  assert np.abs(np.asarray(y_train - y_eval)).max() > 0  # eval uses running statistics


def test_rmsnorm_queries_have_unit_rms_per_head():
  layer = _peer(query_norm="rmsnorm")
  q = np.asarray(nnx.jit(lambda m, x: m.queries(x))(layer, normal((6, D), seed=6)), np.float64)
  assert q.shape == (6, HEADS, DQ)
  np.testing.assert_allclose(np.sqrt(np.mean(q ** 2, -1)), 1.0, rtol=1e-4)  # scale starts at one


@pytest.mark.parametrize("query_norm", peer.QUERY_NORMS)
def test_only_batchnorm_lets_a_token_change_another_tokens_output(query_norm):
  # Why sequence models refuse batchnorm: in training mode its statistics span every token of the call.
  layer = _peer(query_norm=query_norm)
  x = normal((2, 5, D), seed=7)
  changed = x.copy()
  changed[0, 3] += 3.0
  y, y_changed = np.asarray(apply(layer, x)), np.asarray(apply(layer, changed))
  others = np.ones((2, 5), bool)
  others[0, 3] = False
  leak = np.abs(y_changed - y)[others].max()
  if query_norm in peer.PER_TOKEN_QUERY_NORMS:
    assert leak <= 1e-6
  else:
    assert leak > 1e-3


def test_weight_decay_mask_spares_expert_tables():
  layer = _peer(num_experts=16)
  mask = peer.weight_decay_mask(nnx.state(layer, nnx.Param))
  flat = {tuple(str(getattr(e, "key", getattr(e, "name", e))) for e in path): value
          for path, value in jax.tree_util.tree_leaves_with_path(mask)}
  assert {path[0] for path, decay in flat.items() if not decay} == {"expert_down", "expert_up"}
  assert all(decay for path, decay in flat.items() if path[0] not in peer.EXPERT_TABLE_NAMES)
  # With zero gradients, AdamW changes only what it decays.
  optimizer = nnx.Optimizer(layer, optax.adamw(0.1, weight_decay=0.5, mask=peer.weight_decay_mask),
                            wrt=nnx.Param)
  down, keys = np.asarray(layer.expert_down[...]).copy(), np.asarray(layer.sub_keys[...]).copy()
  optimizer.update(layer, jax.tree_util.tree_map(jnp.zeros_like, nnx.state(layer, nnx.Param)))
  np.testing.assert_array_equal(layer.expert_down[...], down)
  assert np.abs(np.asarray(layer.sub_keys[...]) - keys).max() > 0
  assert isinstance(layer.expert_down, peer.ExpertTable)


def test_expert_usage_and_bad_sizes():
  assert float(peer.expert_usage(jnp.array([[0, 1], [1, 3]]), 8)) == pytest.approx(3 / 8)
  with pytest.raises(ValueError, match="perfect square"):
    _peer(num_experts=10)
  with pytest.raises(ValueError, match="even"):
    PEER(D, num_experts=16, d_query=5, rngs=nnx.Rngs(0))
