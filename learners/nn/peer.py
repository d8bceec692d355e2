"""PEER: Parameter Efficient Expert Retrieval ("Mixture of A Million Experts", He 2024, arXiv 2407.04153).

    f(x) = sum_{heads h} sum_{i in I_h(x)} g_i(x) act(u_i . x) v_i,   g = softmax over the k retrieved scores

Each head has its own query q_h(x) (a slice of one linear map, then a norm) and retrieves k of N
single-neuron experts (u_i, v_i) by product keys: the query's two halves are scored against two tables of
sqrt(N) sub-keys, the top k of each half give k^2 candidates whose summed scores contain the exact top k
over all N = sqrt(N)^2 keys [c_a; c'_b]; expert index = a * sqrt(N) + b. The experts and the sub-keys are
shared by all heads.

Query norm: 'layernorm' (default) or 'rmsnorm' over each head's query, 'none', or 'batchnorm' (the paper's)
over all heads' queries. BatchNorm normalises with statistics of every token in the call (all leading axes
of x), so in training mode a token's output depends on the other tokens and rows: in a sequence model that
leaks later tokens into earlier outputs. Use it only on independent examples whose caller switches
`eval()` / `train()` (running statistics); `blocks` refuses it. Its running statistics also drift across
tasks and change retrieval at test time. Expert tables are `ExpertTable` variables, which
`weight_decay_mask` excludes from weight decay (decay would shrink experts that are not retrieved).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import nnx

QUERY_NORMS = ("layernorm", "rmsnorm", "batchnorm", "none")
# Norms that see one token at a time (the only ones a causal sequence model may use).
PER_TOKEN_QUERY_NORMS = ("layernorm", "rmsnorm", "none")
SCORE_ACTIVATIONS = ("softmax", "sigmoid")
EXPERT_TABLE_NAMES = ("expert_down", "expert_up")
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": jax.nn.gelu, "relu": jax.nn.relu, "silu": jax.nn.silu, "identity": lambda x: x}


class ExpertTable(nnx.Param):
  """An (N, width) table of expert vectors; only retrieved rows get gradient. Not weight-decayed."""


class PEER(nnx.Module):
  """PEER layer over (..., d_in) -> (..., d_out)."""

  def __init__(self, d_in: int, *, num_experts: int, rngs: nnx.Rngs, d_out: int | None = None,
               num_heads: int = 8, top_k: int = 16, d_query: int | None = None, activation: str = "gelu",
               query_norm: str = "layernorm", score_activation: str = "softmax",
               token_chunk: int | None = None, param_dtype: Any = jnp.float32):
    side = math.isqrt(num_experts)
    if side * side != num_experts:
      raise ValueError(f"num_experts must be a perfect square (product keys), got {num_experts}")
    if not 1 <= top_k <= num_experts:
      raise ValueError(f"top_k must be in [1, num_experts], got {top_k}")
    if query_norm not in QUERY_NORMS:
      raise ValueError(f"query_norm must be one of {QUERY_NORMS}, got {query_norm!r}")
    if score_activation not in SCORE_ACTIVATIONS:
      raise ValueError(f"score_activation must be one of {SCORE_ACTIVATIONS}, got {score_activation!r}")
    if activation not in ACTIVATIONS:
      raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    d_out = d_out or d_in
    d_query = d_query or d_in + d_in % 2
    if d_query % 2:
      raise ValueError(f"d_query must be even (it is split in two halves), got {d_query}")
    self.d_in, self.d_out, self.d_query = d_in, d_out, d_query
    self.num_experts, self.num_sub_keys = num_experts, side
    self.num_heads, self.top_k = num_heads, top_k
    self.activation, self.query_norm_kind, self.score_activation = activation, query_norm, score_activation
    self.token_chunk = token_chunk

    self.query_proj = nnx.Linear(d_in, num_heads * d_query, use_bias=False, param_dtype=param_dtype,
                                 rngs=rngs)
    if query_norm == "layernorm":
      self.query_norm = nnx.LayerNorm(d_query, rngs=rngs)
    elif query_norm == "rmsnorm":
      self.query_norm = nnx.RMSNorm(d_query, rngs=rngs)
    elif query_norm == "batchnorm":
      self.query_norm = nnx.BatchNorm(num_heads * d_query, rngs=rngs)
    else:
      self.query_norm = None
    half = d_query // 2
    # Unit-variance normalised query halves against N(0, 1/half) sub-keys give O(1) scores.
    self.sub_keys = nnx.Param(
        jax.random.normal(rngs.params(), (2, side, half), param_dtype) / math.sqrt(half))
    # Down vectors as a fan-in d_in layer, up vectors as a fan-in (heads * k) layer (h * k active neurons).
    self.expert_down = ExpertTable(
        jax.random.normal(rngs.params(), (num_experts, d_in), param_dtype) / math.sqrt(d_in))
    self.expert_up = ExpertTable(
        jax.random.normal(rngs.params(), (num_experts, d_out), param_dtype) / math.sqrt(num_heads * top_k))

  def __call__(self, x: jax.Array) -> jax.Array:
    lead = x.shape[:-1]
    flat = x.reshape(-1, self.d_in)
    indices, scores = self.retrieve(flat)
    gates = jax.nn.softmax(scores, axis=-1) if self.score_activation == "softmax" else jax.nn.sigmoid(scores)
    out = self._mix_experts(flat, indices, gates.astype(flat.dtype))
    return out.reshape(lead + (self.d_out,))

  def queries(self, x: jax.Array) -> jax.Array:
    """(n, d_in) -> normalised queries (n, heads, d_query)."""
    q = self.query_proj(x)
    if self.query_norm_kind == "batchnorm":
      q = self.query_norm(q)
    q = q.reshape(x.shape[0], self.num_heads, self.d_query)
    if self.query_norm_kind in ("layernorm", "rmsnorm"):
      q = self.query_norm(q)
    return q

  def retrieve(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(n, d_in) -> expert indices (n, heads, k) int32 and their scores (n, heads, k), best first."""
    q = self.queries(x)
    return product_key_top_k(q, self.sub_keys[...], self.top_k)

  def _mix_experts(self, x: jax.Array, indices: jax.Array, gates: jax.Array) -> jax.Array:
    down, up = self.expert_down[...], self.expert_up[...]
    act = ACTIVATIONS[self.activation]

    def mix(x_c, idx_c, gates_c):
      hidden = act(jnp.einsum("nd,nhkd->nhk", x_c, jnp.take(down, idx_c, axis=0))) * gates_c
      return jnp.einsum("nhk,nhkd->nd", hidden, jnp.take(up, idx_c, axis=0))

    n = x.shape[0]
    chunk = self.token_chunk
    if chunk is None or n <= chunk:
      return mix(x, indices, gates)
    # Bound the (tokens, heads, k, width) gathers: map over token chunks and recompute them in backward.
    pad = -n % chunk
    padded = [jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in (x, indices, gates)]
    chunks = [a.reshape((-1, chunk) + a.shape[1:]) for a in padded]
    out = jax.lax.map(lambda args: jax.checkpoint(mix)(*args), tuple(chunks))
    return out.reshape(-1, self.d_out)[:n]


@functools.partial(jax.jit, static_argnames="top_k")
def product_key_top_k(queries: jax.Array, sub_keys: jax.Array, top_k: int) -> tuple[jax.Array, jax.Array]:
  """Exact top-k over the N = S^2 product keys [c_a; c'_b] without scoring all N.

  queries: (..., d_query); sub_keys: (2, S, d_query / 2). Returns indices a * S + b (int32) and scores
  q1.c_a + q2.c'_b, each (..., top_k), best first. Any key of the true top k has both halves among the
  top k of their half, so the k^2 candidates contain it.
  """
  side, half = sub_keys.shape[1], sub_keys.shape[2]
  q = queries.reshape(queries.shape[:-1] + (2, half))
  half_scores = jnp.einsum("...pd,psd->...ps", q, sub_keys, preferred_element_type=jnp.float32)
  k_half = min(top_k, side)
  best_half, best_half_index = _top_k_rows(half_scores, k_half)  # (..., 2, k_half)
  candidates = best_half[..., 0, :, None] + best_half[..., 1, None, :]
  candidate_index = best_half_index[..., 0, :, None] * side + best_half_index[..., 1, None, :]
  flat_shape = candidates.shape[:-2] + (k_half * k_half,)
  scores, position = _top_k_rows(candidates.reshape(flat_shape), top_k)
  indices = jnp.take_along_axis(candidate_index.reshape(flat_shape), position, axis=-1)
  return indices.astype(jnp.int32), scores


def _top_k_rows(x: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
  """`lax.top_k` on a 2-D view: XLA:CPU lowers N-D top_k to a full sort, 2-D to its fast TopK call."""
  values, index = jax.lax.top_k(x.reshape(-1, x.shape[-1]), k)
  return values.reshape(x.shape[:-1] + (k,)), index.reshape(x.shape[:-1] + (k,))


def is_expert_table_path(path: tuple) -> bool:
  """Whether a pytree path (from `jax.tree_util.tree_map_with_path`) leads to a PEER expert table."""
  for entry in path:
    name = getattr(entry, "key", getattr(entry, "name", None))
    if name in EXPERT_TABLE_NAMES:
      return True
  return False


def weight_decay_mask(params: Any) -> Any:
  """Bool pytree like `params`: True where weight decay applies, False on expert tables.

  Works on an `nnx.State` or a plain nested dict; pass it as `optax.adamw(..., mask=weight_decay_mask)`.
  """
  return jax.tree_util.tree_map_with_path(lambda path, _: not is_expert_table_path(path), params)


def expert_usage(indices: jax.Array, num_experts: int) -> jax.Array:
  """Fraction of the N experts retrieved at least once in `indices` (the paper's usage diagnostic)."""
  counts = jnp.zeros((num_experts,), jnp.int32).at[indices.reshape(-1)].add(1)
  return jnp.mean(counts > 0)
