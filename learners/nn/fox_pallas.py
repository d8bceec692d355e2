"""Forgetting attention as Pallas kernels for GPUs (Triton backend): forward and backward.

Blocks: the sequence is cut into blocks of `block_size` (the ACP tile); each program owns one block and
loops over the other side in steps of `KernelConfig.inner_block` (which divides block_size).

Forward: one program per (query block, batch, head) keeps its query block and an online softmax in
registers and loops over key steps from the ACP start block (0 without ACP) to the diagonal, adding
c_i - c_j in float32 per tile as (base[qb] - base[kb]) + (local_i - local_j) (`fox_decay`: c relative to
each block's start, so the error does not grow with T); it writes the output and the row log-sum-exp
(base 2, as the kernels compute: the scale and each difference c_i - c_j are multiplied by log2 e, and
exp2 is the GPU's native exponential).

Backward: one fused kernel, also one program per (block j, batch, head), in two phases that share no
state (so no atomics): (1) dK, dV and dc for key block j, looping over the query steps that attend to it
(from j down the column to the last block ACP keeps), (2) dQ for query block j, looping over its key
steps as the forward did. Phase 1 covers nb - j blocks and phase 2 j + 1, so all programs do equal work.
dc_j = -sum_i dS_ij: c_i cancels in each row's softmax, so only -c_j carries gradient.

`fox.forgetting_attention(..., implementation="pallas")` runs these kernels on CUDA GPUs and the
blockwise JAX form elsewhere (`lax.platform_dependent`). The harness meters the CPU branch, i.e. charges
a kernel call the FLOPs of the blockwise algorithm it implements (XLA cannot see inside a kernel). Off a
GPU, `forgetting_attention_pallas(..., interpret=True)` runs the kernels in Pallas interpret mode (slow,
for tests); `lower_for_gpu` checks on any machine that they lower to Triton. Status: checked in interpret
mode against the float64 oracle and by lowering; not yet compiled by Triton or timed on a GPU.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pallas_triton

from nevis.learners.nn.fox_decay import MASK_VALUE, BlockDecay

LOG2_E = math.log2(math.e)


@dataclasses.dataclass(frozen=True)
class KernelConfig:
  """Tiling and Triton launch parameters (to tune per GPU with benchmarks/attention.py --pallas-configs).

  inner_block: the step of each program's loop (None: block_size); block_size / inner_block tiles of
  (block_size x inner_block) make up one ACP tile. num_warps, num_stages: Triton's.
  """
  inner_block: int | None = 64
  num_warps: int = 8
  num_stages: int = 2

  def inner(self, block_size: int) -> int:
    inner = block_size if self.inner_block is None else min(self.inner_block, block_size)
    if block_size % inner:
      raise ValueError(f"inner_block {inner} must divide block_size {block_size}")
    return inner

  def compiler_params(self) -> pallas_triton.CompilerParams:
    return pallas_triton.CompilerParams(num_warps=self.num_warps, num_stages=self.num_stages)


def forgetting_attention_pallas(q: jax.Array, k: jax.Array, v: jax.Array, decay: BlockDecay,
                                keep: jax.Array | None, *, block_size: int,
                                config: KernelConfig = KernelConfig(), interpret: bool = False) -> jax.Array:
  """q, k, v: (B, T, H, D); decay: `fox_decay.block_decay(log f, block_size)`; keep: ACP tiles (B, H, nb, nb)
  or None.

  `keep` must hold, for each query block, a run of key blocks ending at the diagonal (as
  `fox._keep_tiles` makes it). On a GPU, head_dim, block_size and the inner block must be powers of two
  (Triton tiles).
  """
  batch, length, heads, _ = q.shape
  nb = -(-length // block_size)
  if decay.local.shape != q.shape[:3] or decay.base.shape != (batch, nb, heads):
    raise ValueError(f"decay must be block_decay(log f, {block_size}) of a {q.shape[:3]} log f, got local "
                     f"{decay.local.shape} and base {decay.base.shape}")
  static = _Static(block_size, config.inner(block_size), config, keep is not None, interpret)
  if keep is None:
    keep = jnp.broadcast_to(jnp.tril(jnp.ones((nb, nb), bool)), (batch, heads, nb, nb))
  first_key_block = jnp.argmax(keep, axis=-1).astype(jnp.int32)  # (B, H, nb) per query block
  # Last query block that keeps each key block (the diagonal always does, so the max exists).
  rows = jnp.arange(nb, dtype=jnp.int32)[:, None]
  last_query_block = jnp.max(jnp.where(keep, rows, -1), axis=-2).astype(jnp.int32)  # (B, H, nb)
  return _attention(q, k, v, decay.local, decay.base, first_key_block, last_query_block, static)


def lower_for_gpu(fn, *args) -> str:
  """StableHLO text of `fn(*args)` lowered for CUDA (needs no GPU): a check that the kernels lower."""
  return jax.jit(fn).trace(*args).lower(lowering_platforms=("cuda",)).as_text()


class _Static(NamedTuple):
  block: int
  inner: int
  config: KernelConfig
  pruned: bool  # ACP is on: phase 1 of the backward checks each tile it visits
  interpret: bool


@functools.partial(jax.custom_vjp, nondiff_argnums=(7,))
def _attention(q, k, v, local, base, first_key_block, last_query_block, static):
  out, _ = _forward(q, k, v, local, base, first_key_block, static)
  return out


def _attention_fwd(q, k, v, local, base, first_key_block, last_query_block, static):
  out, log2_sum_exp = _forward(q, k, v, local, base, first_key_block, static)
  return out, (q, k, v, local, base, first_key_block, last_query_block, out, log2_sum_exp)


def _attention_bwd(static, residuals, d_out):
  d_q, d_k, d_v, d_c = _backward(*residuals, d_out, static)
  # c_t = base[t // block] + local[t]: dL/dlocal = dL/dc, dL/dbase its sum over the block.
  batch, length, heads = d_c.shape
  padded = -(-length // static.block) * static.block
  d_base = jnp.sum(_pad_time(d_c, padded).reshape(batch, -1, static.block, heads), axis=2)
  return d_q, d_k, d_v, d_c, d_base, None, None


_attention.defvjp(_attention_fwd, _attention_bwd)


def _pad_time(x: jax.Array, padded: int, mode: str = "constant") -> jax.Array:
  widths = [(0, 0)] * x.ndim
  widths[1] = (0, padded - x.shape[1])
  return jnp.pad(x, widths, mode=mode)


def _rows_by_head(x: jax.Array, padded: int, mode: str = "constant") -> jax.Array:
  """(B, T, H) -> (B, H, padded): per-position scalars laid out contiguously per head."""
  return jnp.transpose(_pad_time(x, padded, mode), (0, 2, 1))


def _local_decay(local: jax.Array, padded: int) -> jax.Array:
  """`local` as (B, H, padded), in natural units: a tile scales each difference c_i - c_j by log2(e) (the
  kernels work in base 2, exp2 being the GPU's native exponential), which rounds the (small) difference
  rather than each (larger) value.

  Padded keys decay like the last real one; causality hides them from every real query.
  """
  return _rows_by_head(local, padded, "edge")


def _specs(padded: int, block: int, head_dim: int, nb: int):
  """BlockSpecs over the grid (block j, batch b, head h)."""
  whole_sequence = pl.BlockSpec((None, padded, None, head_dim), lambda j, b, h: (b, 0, h, 0))
  own_block = pl.BlockSpec((None, block, None, head_dim), lambda j, b, h: (b, j, h, 0))
  whole_rows = pl.BlockSpec((None, None, padded), lambda j, b, h: (b, h, 0))
  own_rows = pl.BlockSpec((None, None, block), lambda j, b, h: (b, h, j))
  per_block = pl.BlockSpec((None, None, nb), lambda j, b, h: (b, h, 0))
  return whole_sequence, own_block, whole_rows, own_rows, per_block


def _cost(q: jax.Array, block: int, matmuls: int, exponentials: int, passes: int) -> pl.CostEstimate:
  """Upper bound (ACP off) of one kernel's work, for XLA's scheduler."""
  batch, length, heads, head_dim = q.shape
  nb = -(-length // block)
  tile_elements = batch * heads * (nb * (nb + 1) // 2) * block * block
  return pl.CostEstimate(flops=2 * matmuls * tile_elements * head_dim, transcendentals=exponentials * tile_elements,
                         bytes_accessed=passes * q.size * q.dtype.itemsize)


def _forward(q, k, v, local, base, first_key_block, static):
  batch, length, heads, head_dim = q.shape
  block = static.block
  nb = -(-length // block)
  padded = nb * block
  q_p, k_p, v_p = (_pad_time(x, padded) for x in (q, k, v))
  whole_sequence, own_block, whole_rows, own_rows, per_block = _specs(padded, block, head_dim, nb)
  kernel = functools.partial(_forward_kernel, block=block, inner=static.inner,
                             scale=LOG2_E / math.sqrt(head_dim))
  out, log2_sum_exp = pl.pallas_call(
      kernel,
      grid=(nb, batch, heads),
      in_specs=[own_block, whole_sequence, whole_sequence, whole_rows, per_block, per_block],
      out_specs=[own_block, own_rows],
      out_shape=[jax.ShapeDtypeStruct(q_p.shape, q.dtype),
                 jax.ShapeDtypeStruct((batch, heads, padded), jnp.float32)],
      interpret=static.interpret,
      compiler_params=static.config.compiler_params(),
      cost_estimate=_cost(q, block, matmuls=2, exponentials=1, passes=4),
      name="forgetting_attention_fwd",
  )(q_p, k_p, v_p, _local_decay(local, padded), _per_block(base), first_key_block)
  return out[:, :length], log2_sum_exp


def _per_block(base: jax.Array) -> jax.Array:
  """(B, nb, H) -> (B, H, nb)."""
  return jnp.transpose(base, (0, 2, 1))


def _tile_logits(q, k, c_q, c_k, offset, scale, rows=None, cols=None):
  """Base-2 logits of one tile in float32; causally masked when `rows`/`cols` are given (diagonal).

  offset: base[query block] - base[key block], an exact integer; c_q, c_k: `local` of rows and columns."""
  logits = jax.lax.dot_general(q, k, (((1,), (1,)), ((), ())), preferred_element_type=jnp.float32) * scale
  logits = logits + (offset + (c_q[:, None] - c_k[None, :])) * LOG2_E
  if rows is None:
    return logits
  return jnp.where(rows[:, None] >= cols[None, :], logits, MASK_VALUE)


def _forward_kernel(q_ref, k_ref, v_ref, c_ref, base_ref, first_key_block_ref, o_ref, lse_ref, *, block, inner,
                    scale):
  query_block = pl.program_id(0)
  own = pl.ds(query_block * block, block)
  q = q_ref[...]
  c_q = c_ref[own]
  rows = query_block * block + jnp.arange(block)
  steps = block // inner

  def visit(key_step, carry, masked):
    acc, row_max, row_sum = carry
    keys = pl.ds(key_step * inner, inner)
    cols = key_step * inner + jnp.arange(inner) if masked else None
    offset = base_ref[query_block] - base_ref[key_step // steps]
    logits = _tile_logits(q, k_ref[keys, :], c_q, c_ref[keys], offset, scale, rows if masked else None, cols)
    new_max = jnp.maximum(row_max, jnp.max(logits, axis=1))
    weights = jnp.exp2(logits - new_max[:, None])
    rescale = jnp.exp2(row_max - new_max)
    v = v_ref[keys, :]
    acc = acc * rescale[:, None] + jnp.dot(weights.astype(v.dtype), v, preferred_element_type=jnp.float32)
    return acc, new_max, row_sum * rescale + jnp.sum(weights, axis=1)

  head_dim = q.shape[-1]
  carry = (jnp.zeros((block, head_dim), jnp.float32), jnp.full((block,), MASK_VALUE, jnp.float32),
           jnp.zeros((block,), jnp.float32))
  # Off-diagonal steps need no mask; the first step visited holds a visible key for every row (its first
  # column is at or before the block's first row), so no row's running max stays at the mask value.
  diagonal = query_block * steps
  carry = jax.lax.fori_loop(first_key_block_ref[query_block] * steps, diagonal,
                            functools.partial(visit, masked=False), carry)
  acc, row_max, row_sum = jax.lax.fori_loop(diagonal, diagonal + steps, functools.partial(visit, masked=True),
                                            carry)
  o_ref[...] = (acc / row_sum[:, None]).astype(o_ref.dtype)
  lse_ref[...] = row_max + jnp.log2(row_sum)


def _backward(q, k, v, local, base, first_key_block, last_query_block, out, log2_sum_exp, d_out, static):
  batch, length, heads, head_dim = q.shape
  block = static.block
  nb = -(-length // block)
  padded = nb * block
  # D_i = dO_i . O_i, the row term of the softmax backward (zero on padded rows, whose dO is zero).
  row_dot = jnp.sum(d_out.astype(jnp.float32) * out.astype(jnp.float32), axis=-1)
  q_p, k_p, v_p, d_out_p = (_pad_time(x, padded) for x in (q, k, v, d_out.astype(q.dtype)))
  whole_sequence, own_block, whole_rows, own_rows, per_block = _specs(padded, block, head_dim, nb)
  kernel = functools.partial(_backward_kernel, block=block, inner=static.inner, pruned=static.pruned,
                             scale=LOG2_E / math.sqrt(head_dim))
  d_q, d_k, d_v, d_c = pl.pallas_call(
      kernel,
      grid=(nb, batch, heads),
      in_specs=[whole_sequence, whole_sequence, whole_sequence, whole_rows, per_block, whole_sequence,
                whole_rows, whole_rows, per_block, per_block],
      out_specs=[own_block, own_block, own_block, own_rows],
      out_shape=[jax.ShapeDtypeStruct(q_p.shape, jnp.float32)] * 3
      + [jax.ShapeDtypeStruct((batch, heads, padded), jnp.float32)],
      interpret=static.interpret,
      compiler_params=static.config.compiler_params(),
      cost_estimate=_cost(q, block, matmuls=5, exponentials=2, passes=8),
      name="forgetting_attention_bwd",
  )(q_p, k_p, v_p, _local_decay(local, padded), _per_block(base), d_out_p, log2_sum_exp, _rows_by_head(row_dot, padded),
    first_key_block, last_query_block)
  # dS = P (dP - D) is the gradient of the natural-log logits whichever base P was computed in, so the
  # kernel scales dq, dk by 1/sqrt(D) and dc needs no factor.
  d_c = jnp.transpose(d_c, (0, 2, 1))[:, :length]
  return (d_q[:, :length].astype(q.dtype), d_k[:, :length].astype(k.dtype), d_v[:, :length].astype(v.dtype),
          d_c)


def _backward_kernel(q_ref, k_ref, v_ref, c_ref, base_ref, do_ref, lse_ref, row_dot_ref, first_key_block_ref,
                     last_query_block_ref, dq_ref, dk_ref, dv_ref, dc_ref, *, block, inner, pruned, scale):
  j = pl.program_id(0)
  own = pl.ds(j * block, block)
  own_positions = j * block + jnp.arange(block)
  head_dim = q_ref.shape[-1]
  steps = block // inner
  natural_scale = scale / LOG2_E  # 1/sqrt(D): d logits / d (q.k)

  def score_gradients(q, k, v, do, c_q, c_k, offset, lse, row_dot, rows=None, cols=None):
    """Probabilities P and natural-logit gradients dS of one tile."""
    probs = jnp.exp2(_tile_logits(q, k, c_q, c_k, offset, scale, rows, cols) - lse[:, None])
    d_probs = jax.lax.dot_general(do, v, (((1,), (1,)), ((), ())), preferred_element_type=jnp.float32)
    return probs, probs * (d_probs - row_dot[:, None])

  # Phase 1: key block j collects from every query step that attends to it, diagonal block first.
  k, v, c_k = k_ref[own, :], v_ref[own, :], c_ref[own]

  def from_query_step(query_step, carry, masked):
    d_k, d_v, d_c = carry
    rows = pl.ds(query_step * inner, inner)
    q, do = q_ref[rows, :], do_ref[rows, :]
    positions = query_step * inner + jnp.arange(inner) if masked else None
    offset = base_ref[query_step // steps] - base_ref[j]
    probs, d_scores = score_gradients(q, k, v, do, c_ref[rows], c_k, offset, lse_ref[rows], row_dot_ref[rows],
                                      positions, own_positions if masked else None)
    if pruned:
      # ACP keeps a run of key blocks per query block; a column is a run too when c is non-increasing.
      # Where it is not (log f > 0 somewhere), tiles inside the column's span can be pruned: drop them.
      kept = first_key_block_ref[query_step // steps] <= j
      probs, d_scores = jnp.where(kept, probs, 0.0), jnp.where(kept, d_scores, 0.0)
    d_v = d_v + jnp.dot(probs.astype(do.dtype).T, do, preferred_element_type=jnp.float32)
    d_k = d_k + jnp.dot(d_scores.astype(q.dtype).T, q, preferred_element_type=jnp.float32)
    return d_k, d_v, d_c - jnp.sum(d_scores, axis=0)

  zeros = jnp.zeros((block, head_dim), jnp.float32)
  carry = (zeros, zeros, jnp.zeros((block,), jnp.float32))
  carry = jax.lax.fori_loop(j * steps, (j + 1) * steps, functools.partial(from_query_step, masked=True), carry)
  d_k, d_v, d_c = jax.lax.fori_loop((j + 1) * steps, (last_query_block_ref[j] + 1) * steps,
                                    functools.partial(from_query_step, masked=False), carry)
  dk_ref[...] = d_k * natural_scale
  dv_ref[...] = d_v
  dc_ref[...] = d_c

  # Phase 2: query block j gathers from the key steps it attends to, diagonal block last.
  q, do, c_q = q_ref[own, :], do_ref[own, :], c_ref[own]
  lse, row_dot = lse_ref[own], row_dot_ref[own]

  def from_key_step(key_step, d_q, masked):
    keys = pl.ds(key_step * inner, inner)
    k = k_ref[keys, :]
    cols = key_step * inner + jnp.arange(inner) if masked else None
    offset = base_ref[j] - base_ref[key_step // steps]
    _, d_scores = score_gradients(q, k, v_ref[keys, :], do, c_q, c_ref[keys], offset, lse, row_dot,
                                  own_positions if masked else None, cols)
    return d_q + jnp.dot(d_scores.astype(k.dtype), k, preferred_element_type=jnp.float32)

  d_q = jax.lax.fori_loop(first_key_block_ref[j] * steps, j * steps,
                          functools.partial(from_key_step, masked=False), zeros)
  d_q = jax.lax.fori_loop(j * steps, (j + 1) * steps, functools.partial(from_key_step, masked=True), d_q)
  dq_ref[...] = d_q * natural_scale
