"""Forgetting attention forward as a Pallas (Triton-style) kernel; backward by the blockwise JAX VJP.

One program per (query block, batch, head) keeps its query tile, the tile's running sums c_i and an online
softmax in registers, and loops over key blocks from the ACP start block (0 without ACP) to the diagonal,
adding c_i - c_j in float32 per tile. It writes the output and the row log-sum-exp, from which
`fox._flash_bwd` recomputes each tile in the backward. Off a GPU it runs in Pallas interpret mode
(slow, for tests). Untested on GPU hardware so far: the tests run it in interpret mode against the oracle.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from nevis.learners.nn import fox


def forgetting_attention_pallas(q: jax.Array, k: jax.Array, v: jax.Array, c: jax.Array,
                                keep: jax.Array | None, *, block_size: int,
                                interpret: bool | None = None) -> jax.Array:
  """q, k, v: (B, T, H, D); c = cumsum(log f): (B, T, H) float32; keep: ACP tiles (B, H, nb, nb) or None."""
  if interpret is None:
    interpret = jax.default_backend() != "gpu"
  batch, length, heads, _ = q.shape
  nb = -(-length // block_size)
  if keep is None:
    start = jnp.zeros((batch, heads, nb), jnp.int32)
    keep_pairs = None
  else:
    # Kept tiles of a query block are a contiguous run ending at the diagonal: start at the first one.
    start = jnp.argmax(keep, axis=-1).astype(jnp.int32)
    query_blocks, key_blocks = fox._causal_tile_pairs(nb)
    keep_pairs = jnp.transpose(keep[:, :, query_blocks, key_blocks], (2, 0, 1))
  return _attention(q, k, v, c, start, keep_pairs, block_size, interpret)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6, 7))
def _attention(q, k, v, c, start, keep_pairs, block, interpret):
  out, _ = _forward(q, k, v, c, start, block, interpret)
  return out


def _attention_fwd(q, k, v, c, start, keep_pairs, block, interpret):
  out, log_sum_exp = _forward(q, k, v, c, start, block, interpret)
  batch, heads, padded = log_sum_exp.shape
  lse_tiles = jnp.transpose(log_sum_exp.reshape(batch, heads, padded // block, block), (2, 0, 1, 3))
  return out, (q, k, v, c, keep_pairs, out, lse_tiles, start)


def _attention_bwd(block, interpret, residuals, d_out):
  q, k, v, c, keep_pairs, out, lse_tiles, start = residuals
  d_q, d_k, d_v, d_c, _ = fox._flash_bwd(block, (q, k, v, c, keep_pairs, out, lse_tiles), d_out)
  return d_q, d_k, d_v, d_c, None, None


_attention.defvjp(_attention_fwd, _attention_bwd)


def _forward(q, k, v, c, start, block, interpret):
  batch, length, heads, head_dim = q.shape
  nb = -(-length // block)
  padded = nb * block
  pad = padded - length
  q_p, k_p, v_p = (jnp.pad(x, ((0, 0), (0, pad), (0, 0), (0, 0))) for x in (q, k, v))
  c_p = jnp.transpose(jnp.pad(c, ((0, 0), (0, pad), (0, 0)), mode="edge"), (0, 2, 1))  # (B, H, T)
  kernel = functools.partial(_kernel, block=block, scale=1.0 / math.sqrt(head_dim))
  out, log_sum_exp = pl.pallas_call(
      kernel,
      grid=(nb, batch, heads),
      in_specs=[
          pl.BlockSpec((None, block, None, head_dim), lambda i, b, h: (b, i, h, 0)),
          pl.BlockSpec((None, padded, None, head_dim), lambda i, b, h: (b, 0, h, 0)),
          pl.BlockSpec((None, padded, None, head_dim), lambda i, b, h: (b, 0, h, 0)),
          pl.BlockSpec((None, None, padded), lambda i, b, h: (b, h, 0)),
          pl.BlockSpec((None, None, nb), lambda i, b, h: (b, h, 0)),
      ],
      out_specs=[
          pl.BlockSpec((None, block, None, head_dim), lambda i, b, h: (b, i, h, 0)),
          pl.BlockSpec((None, None, block), lambda i, b, h: (b, h, i)),
      ],
      out_shape=[jax.ShapeDtypeStruct(q_p.shape, q.dtype),
                 jax.ShapeDtypeStruct((batch, heads, padded), jnp.float32)],
      interpret=interpret,
      name="forgetting_attention_fwd",
  )(q_p, k_p, v_p, c_p, start)
  return out[:, :length], log_sum_exp


def _kernel(q_ref, k_ref, v_ref, c_ref, start_ref, o_ref, lse_ref, *, block, scale):
  query_block = pl.program_id(0)
  q = q_ref[...]
  c_q = c_ref[pl.ds(query_block * block, block)]
  rows = query_block * block + jnp.arange(block)

  def visit(key_block, carry):
    acc, row_max, row_sum = carry
    keys = pl.ds(key_block * block, block)
    k = k_ref[keys, :]
    logits = jnp.dot(q, k.T, preferred_element_type=jnp.float32) * scale
    logits = logits + (c_q[:, None] - c_ref[keys][None, :])
    cols = key_block * block + jnp.arange(block)
    logits = jnp.where(rows[:, None] >= cols[None, :], logits, fox.MASK_VALUE)
    new_max = jnp.maximum(row_max, jnp.max(logits, axis=1))
    weights = jnp.exp(logits - new_max[:, None])
    rescale = jnp.exp(row_max - new_max)
    v = v_ref[keys, :]
    acc = acc * rescale[:, None] + jnp.dot(weights.astype(v.dtype), v, preferred_element_type=jnp.float32)
    return acc, new_max, row_sum * rescale + jnp.sum(weights, axis=1)

  head_dim = q.shape[-1]
  init = (jnp.zeros((block, head_dim), jnp.float32), jnp.full((block,), fox.MASK_VALUE, jnp.float32),
          jnp.zeros((block,), jnp.float32))
  acc, row_max, row_sum = jax.lax.fori_loop(start_ref[query_block], query_block + 1, visit, init)
  o_ref[...] = (acc / row_sum[:, None]).astype(o_ref.dtype)
  lse_ref[...] = row_max + jnp.log(row_sum)
