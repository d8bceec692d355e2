"""The FoX attention layer (NNX): per-head forget gate plus the optional "Pro" parts of Lin et al. 2025.

    x (B, T, d_model) -> q, k, v (no biases)
      [k_shift / v_shift]  k_t = a_t k_{t-1} + (1 - a_t) k_t,  a_t = sigmoid(w_h . x_t) per head, k_{-1} = 0
      [qk_norm]            per-head RMSNorm of q and k with a (heads * head_dim) scale
      o = forgetting_attention(q, k, v, log sigmoid(W_f x + b_f))
      [output_norm]        per-head RMSNorm of o with a scale
      [output_gate]        o * sigmoid(W_g x)
    y = W_o o

`forget_gate`: 'full' (data-dependent, the paper's default), 'bias_only' (learned per-head constant) or
'none' (f = 1: plain softmax attention, the Transformer baseline; then `causal=False` is allowed, which a
ViT encoder wants). No positional embedding. ACP bound: with QK-norm, U = max|g_q| max|g_k| sqrt(d) per
head comes from the weights alone.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from nevis.learners.nn import fox

FORGET_GATES = ("full", "bias_only", "none")
PRO_OPTIONS = dict(k_shift=True, v_shift=True, qk_norm=True, output_norm=True, output_gate=True)


class ForgettingAttentionLayer(nnx.Module):
  """FoX attention over (B, T, d_model) -> (B, T, d_model)."""

  def __init__(self, d_model: int, num_heads: int, *, rngs: nnx.Rngs, head_dim: int | None = None,
               forget_gate: str = "full", fgate_bias_init: float = 0.0, k_shift: bool = False,
               v_shift: bool = False, qk_norm: bool = False, output_norm: bool = False,
               output_gate: bool = False, causal: bool = True, acp_epsilon: float | None = None,
               implementation: str = "auto", block_size: int = 128, init_std: float = 0.02,
               record_acp_stats: bool = False, dtype: Any = None):
    if forget_gate not in FORGET_GATES:
      raise ValueError(f"forget_gate must be one of {FORGET_GATES}, got {forget_gate!r}")
    if not causal and forget_gate != "none":
      raise ValueError("a forget gate only makes sense for causal attention; use forget_gate='none'")
    if not causal and (k_shift or v_shift):
      raise ValueError("token shift mixes in the previous token and needs causal attention")
    if head_dim is None:
      if d_model % num_heads:
        raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}; set head_dim")
      head_dim = d_model // num_heads
    self.num_heads, self.head_dim = num_heads, head_dim
    self.forget_gate, self.causal = forget_gate, causal
    self.acp_epsilon, self.implementation, self.block_size = acp_epsilon, implementation, block_size
    self.record_acp_stats = record_acp_stats
    inner = num_heads * head_dim
    init = nnx.initializers.normal(init_std)

    def linear(d_in: int, d_out: int, use_bias: bool = False) -> nnx.Linear:
      return nnx.Linear(d_in, d_out, use_bias=use_bias, kernel_init=init, dtype=dtype, rngs=rngs)

    self.q_proj, self.k_proj = linear(d_model, inner), linear(d_model, inner)
    self.v_proj = linear(d_model, inner)
    self.o_proj = linear(inner, d_model)
    # Each optional part is assigned exactly once (NNX fixes an attribute's data/static status then).
    self.fgate_proj = nnx.Linear(d_model, num_heads, use_bias=True, kernel_init=init,
                                 bias_init=nnx.initializers.constant(fgate_bias_init),
                                 rngs=rngs) if forget_gate == "full" else None
    self.fgate_bias = nnx.Param(jnp.full((num_heads,), fgate_bias_init, jnp.float32)) \
        if forget_gate == "bias_only" else None
    self.k_shift = linear(d_model, num_heads) if k_shift else None
    self.v_shift = linear(d_model, num_heads) if v_shift else None
    self.q_norm_scale = nnx.Param(jnp.ones((inner,), jnp.float32)) if qk_norm else None
    self.k_norm_scale = nnx.Param(jnp.ones((inner,), jnp.float32)) if qk_norm else None
    self.o_norm_scale = nnx.Param(jnp.ones((inner,), jnp.float32)) if output_norm else None
    self.o_gate = linear(d_model, inner) if output_gate else None

  def __call__(self, x: jax.Array) -> jax.Array:
    q, k, v, _, _ = self._project(x, None)
    qk_bound = self._qk_bound_from_norm_scales() if self.q_norm_scale is not None else None
    if self.forget_gate == "none":
      o = jax.nn.dot_product_attention(q, k, v, is_causal=self.causal)
    else:
      o, stats = fox.forgetting_attention_with_stats(
          q, k, v, self.log_forget_gate(x), acp_epsilon=self.acp_epsilon, qk_bound=qk_bound,
          implementation=self.implementation, block_size=self.block_size)
      if self.record_acp_stats and self.acp_epsilon is not None:
        self.sow(nnx.Intermediate, "acp_stats", stats._asdict())
    return self._output(o, x)

  def extend(self, x: jax.Array, cache: dict[str, jax.Array] | None = None) -> tuple[jax.Array, dict]:
    """Runs x (B, T, d) after a cached prefix (None: no prefix); returns y and the cache of prefix + x.

    Equal to `self(concat(prefix, x))[:, -T:]`, at the cost of attending to the prefix keys only
    (materialised, no ACP). The cache holds keys, values and running log-forget sums of every position.
    """
    if not self.causal:
      raise ValueError("a cached prefix needs causal attention")
    q, k, v, k_raw, v_raw = self._project(x, cache)
    batch, length = x.shape[:2]
    if self.forget_gate == "none":
      log_f = jnp.zeros((batch, length, self.num_heads), jnp.float32)
    else:
      log_f = self.log_forget_gate(x)
    c_start = cache["c"][:, -1] if cache is not None else jnp.zeros((batch, self.num_heads), jnp.float32)
    c = c_start[:, None] + jnp.cumsum(log_f, axis=1)
    if cache is not None:
      k_all, v_all, c_all = (jnp.concatenate([cache[name], new], axis=1)
                             for name, new in (("k", k), ("v", v), ("c", c)))
    else:
      k_all, v_all, c_all = k, v, c
    o = fox.attend_to_prefix(q, k_all, v_all, c, c_all)
    new_cache = dict(k=k_all, v=v_all, c=c_all, k_raw_last=k_raw[:, -1], v_raw_last=v_raw[:, -1])
    return self._output(o, x), new_cache

  def _project(self, x: jax.Array, cache: dict[str, jax.Array] | None):
    """q, k, v after shift and norm, plus the raw (pre-shift) k and v, each (B, T, H, D)."""
    batch, length, _ = x.shape
    split = lambda y: y.reshape(batch, length, self.num_heads, self.head_dim)
    q, k_raw, v_raw = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
    k, v = k_raw, v_raw
    if self.k_shift is not None:
      k = token_shift(k_raw, jax.nn.sigmoid(self.k_shift(x)), None if cache is None else cache["k_raw_last"])
    if self.v_shift is not None:
      v = token_shift(v_raw, jax.nn.sigmoid(self.v_shift(x)), None if cache is None else cache["v_raw_last"])
    if self.q_norm_scale is not None:
      q = head_rms_norm(q, self.q_norm_scale[...], 1e-5)
      k = head_rms_norm(k, self.k_norm_scale[...], 1e-5)
    return q, k, v, k_raw, v_raw

  def _output(self, o: jax.Array, x: jax.Array) -> jax.Array:
    batch, length = x.shape[:2]
    if self.o_norm_scale is not None:
      o = head_rms_norm(o, self.o_norm_scale[...], 1e-6)
    o = o.reshape(batch, length, self.num_heads * self.head_dim)
    if self.o_gate is not None:
      o = o * jax.nn.sigmoid(self.o_gate(x).astype(jnp.float32)).astype(o.dtype)
    return self.o_proj(o)

  def log_forget_gate(self, x: jax.Array) -> jax.Array:
    """(B, T, H) float32 log f."""
    if self.fgate_proj is not None:
      return fox.log_forget_gate(self.fgate_proj(x))
    return jnp.broadcast_to(fox.log_forget_gate(self.fgate_bias[...]), x.shape[:2] + (self.num_heads,))

  def _qk_bound_from_norm_scales(self) -> jax.Array:
    """U = max|g_q| max|g_k| sqrt(d) per head: |RMSNorm(x) * g| <= max|g| sqrt(d)."""
    per_head = lambda g: jnp.max(jnp.abs(g.reshape(self.num_heads, self.head_dim)), axis=-1)
    return per_head(self.q_norm_scale[...]) * per_head(self.k_norm_scale[...]) * math.sqrt(self.head_dim)


def token_shift(x: jax.Array, alpha: jax.Array, before: jax.Array | None = None) -> jax.Array:
  """x: (B, T, H, D), alpha: (B, T, H) -> alpha x_{t-1} + (1 - alpha) x_t; x_{-1} = `before` or 0."""
  first = jnp.zeros_like(x[:, :1]) if before is None else before[:, None].astype(x.dtype)
  previous = jnp.concatenate([first, x[:, :-1]], axis=1)
  alpha = alpha[..., None].astype(x.dtype)
  return alpha * previous + (1 - alpha) * x


def head_rms_norm(x: jax.Array, scale: jax.Array, eps: float) -> jax.Array:
  """RMSNorm over head_dim of (B, T, H, D) in float32, times a (H * D) scale."""
  x32 = x.astype(jnp.float32)
  normed = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=-1, keepdims=True) + eps)
  return (normed * scale.reshape(x.shape[-2:])).astype(x.dtype)
