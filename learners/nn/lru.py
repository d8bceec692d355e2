"""Real-Gated Linear Recurrent Unit (RG-LRU, Griffin / recurrentgemma, used by TRecViT) and its block.

    r_t = sigmoid(W_a x_t + b_a),  i_t = sigmoid(W_x x_t + b_x)      (block-diagonal, one block per head)
    log a_t = -c r_t softplus(L)                                      (a_t = a^{c r_t}, a = exp(-softplus(L)))
    h_t = a_t h_{t-1} + sqrt(1 - a_t^2) (i_t x_t)

At a reset (sequence start) a_t := 0 and the sqrt factor := 1, so h_t = i_t x_t and nothing leaks across
the boundary. The recurrence runs in float32 with `jax.lax.associative_scan`.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx


@jax.jit
def linear_recurrence(a: jax.Array, b: jax.Array, initial: jax.Array | None = None) -> jax.Array:
  """h_t = a_t h_{t-1} + b_t along axis 1 of (B, T, ...), h_{-1} = `initial` (or 0), by associative scan."""
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if initial is not None:
    b = b.at[:, 0].add(a[:, 0] * jnp.asarray(initial, jnp.float32))

  def combine(earlier, later):
    a_1, b_1 = earlier
    a_2, b_2 = later
    return a_1 * a_2, a_2 * b_1 + b_2

  _, h = jax.lax.associative_scan(combine, (a, b), axis=1)
  return h


def start_of_sequence_reset(batch: int, length: int) -> jax.Array:
  """(B, T) bool, True only at t = 0: every row is one sequence."""
  return jnp.zeros((batch, length), bool).at[:, 0].set(True)


@jax.custom_vjp
def sqrt_bounded_derivative(x: jax.Array) -> jax.Array:
  """sqrt(x) whose derivative is capped at 1000 (near x = 0 it would blow up: 1 - a^2 -> 0)."""
  return jnp.sqrt(x)


def _sqrt_fwd(x):
  return jnp.sqrt(x), x


def _sqrt_bwd(x, g):
  return (g / (2.0 * jnp.sqrt(jnp.maximum(x, 1.0 / (4.0 * 1000.0 ** 2)))),)


sqrt_bounded_derivative.defvjp(_sqrt_fwd, _sqrt_bwd)


class BlockDiagonalLinear(nnx.Module):
  """(..., width) -> (..., width) with one dense block per head."""

  def __init__(self, width: int, num_blocks: int, *, rngs: nnx.Rngs):
    if width % num_blocks:
      raise ValueError(f"width {width} is not divisible by {num_blocks} blocks")
    self.num_blocks, self.block_width = num_blocks, width // num_blocks
    init = nnx.initializers.variance_scaling(1.0, "fan_in", "normal", in_axis=-2, out_axis=-1)
    self.kernel = nnx.Param(init(rngs.params(), (num_blocks, self.block_width, self.block_width)))
    self.bias = nnx.Param(jnp.zeros((num_blocks, self.block_width)))

  def __call__(self, x: jax.Array) -> jax.Array:
    x = x.reshape(x.shape[:-1] + (self.num_blocks, self.block_width))
    y = jnp.einsum("...hi,hij->...hj", x, self.kernel[...]) + self.bias[...]
    return y.reshape(y.shape[:-2] + (-1,))


class RGLRU(nnx.Module):
  """RG-LRU over (B, T, width); returns (B, T, width) and the last state (B, width) in float32."""

  def __init__(self, width: int, num_heads: int, *, rngs: nnx.Rngs, min_rad: float = 0.5,
               max_rad: float = 0.999, c: float = 8.0):
    self.width, self.c = width, c
    self.input_gate = BlockDiagonalLinear(width, num_heads, rngs=rngs)
    self.a_gate = BlockDiagonalLinear(width, num_heads, rngs=rngs)
    self.a_param = nnx.Param(rnn_param_init(rngs.params(), width, min_rad, max_rad))

  def __call__(self, x: jax.Array, reset: jax.Array | None = None,
               initial_state: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """`reset`: (B, T) bool, True where a sequence starts (default: t = 0 only)."""
    batch, length, _ = x.shape
    if reset is None:
      reset = start_of_sequence_reset(batch, length)
    x32 = x.astype(jnp.float32)
    gate_x = jax.nn.sigmoid(self.input_gate(x32))
    gate_a = jax.nn.sigmoid(self.a_gate(x32))
    log_a = -self.c * gate_a * jax.nn.softplus(self.a_param[...].astype(jnp.float32))
    reset = reset[..., None]
    a = jnp.where(reset, 0.0, jnp.exp(log_a))
    multiplier = jnp.where(reset, 1.0, sqrt_bounded_derivative(1.0 - jnp.exp(2.0 * log_a)))
    h = linear_recurrence(a, multiplier * gate_x * x32, initial_state)
    return h.astype(x.dtype), h[:, -1]


def rnn_param_init(key: jax.Array, width: int, min_rad: float, max_rad: float) -> jax.Array:
  """L with a = exp(-softplus(L)) spread so that a^2 is uniform in [min_rad^2, max_rad^2]."""
  a_squared = jax.random.uniform(key, (width,), minval=min_rad ** 2, maxval=max_rad ** 2)
  minus_log_a = -0.5 * jnp.log(a_squared)
  return jnp.log(jnp.expm1(minus_log_a))  # softplus^-1


class CausalConv1D(nnx.Module):
  """Depthwise causal convolution over time that does not reach across a reset."""

  def __init__(self, width: int, temporal_width: int, *, rngs: nnx.Rngs):
    self.temporal_width = temporal_width
    self.kernel = nnx.Param(jax.random.normal(rngs.params(), (temporal_width, width)) *
                            math.sqrt(0.01 / temporal_width))
    self.bias = nnx.Param(jnp.zeros((width,)))

  def __call__(self, x: jax.Array, reset: jax.Array) -> jax.Array:
    segment = jnp.cumsum(reset.astype(jnp.int32), axis=1)
    out = x * self.kernel[0]
    for shift in range(1, self.temporal_width):
      shifted = jnp.pad(x, ((0, 0), (shift, 0), (0, 0)))[:, :-shift]
      shifted_segment = jnp.pad(segment, ((0, 0), (shift, 0)), constant_values=-1)[:, :-shift]
      same = (shifted_segment == segment)[..., None]
      out = out + jnp.where(same, shifted, 0.0) * self.kernel[shift]
    return out + self.bias[...]


class RecurrentBlock(nnx.Module):
  """Griffin's recurrent token mixer: W_out(RG-LRU(conv(W_x x)) * gelu(W_y x)), (B, T, d) -> (B, T, d)."""

  def __init__(self, d_model: int, num_heads: int, *, rngs: nnx.Rngs, width: int | None = None,
               conv_width: int = 4, min_rad: float = 0.5, max_rad: float = 0.999, dtype: Any = None):
    width = width or d_model
    self.linear_x = nnx.Linear(d_model, width, dtype=dtype, rngs=rngs)
    self.linear_y = nnx.Linear(d_model, width, dtype=dtype, rngs=rngs)
    self.linear_out = nnx.Linear(width, d_model, dtype=dtype, rngs=rngs)
    self.conv = CausalConv1D(width, conv_width, rngs=rngs) if conv_width > 1 else None
    self.lru = RGLRU(width, num_heads, rngs=rngs, min_rad=min_rad, max_rad=max_rad)

  def __call__(self, x: jax.Array, reset: jax.Array | None = None) -> jax.Array:
    if reset is None:
      reset = start_of_sequence_reset(*x.shape[:2])
    y = jax.nn.gelu(self.linear_y(x))
    u = self.linear_x(x)
    if self.conv is not None:
      u = self.conv(u, reset)
    h, _ = self.lru(u, reset)
    return self.linear_out(h * y)

  def extend(self, x: jax.Array, cache: dict[str, jax.Array] | None = None) -> tuple[jax.Array, dict]:
    """Runs x (B, T, d) after a cached prefix (None: x starts the sequence); returns y and the new cache
    (last state 'h' and the last conv_width - 1 conv inputs 'conv')."""
    batch, length = x.shape[:2]
    y = jax.nn.gelu(self.linear_y(x))
    u = self.linear_x(x)
    history = self.conv.temporal_width - 1 if self.conv is not None else 0
    if cache is None:
      past = jnp.zeros((batch, history, u.shape[-1]), u.dtype)
      reset, initial = start_of_sequence_reset(batch, length), None
    else:
      past = cache["conv"].astype(u.dtype)
      reset, initial = jnp.zeros((batch, length), bool), cache["h"]
    extended = jnp.concatenate([past, u], axis=1)  # zeros before the start contribute nothing
    if self.conv is not None:
      u = self.conv(extended, jnp.zeros(extended.shape[:2], bool))[:, history:]
    h, last = self.lru(u, reset, initial)
    return self.linear_out(h * y), dict(h=last, conv=extended[:, extended.shape[1] - history:])

