"""Forgetting Attention (FoX, Lin et al. 2025) with Adaptive Computation Pruning (ACP).

    o_i = sum_{j<=i} softmax_j(q_i.k_j / sqrt(d) + c_i - c_j) v_j,    c = cumsum(log f)

c is kept relative to each block's start (`fox_decay`): c_i - c_j is computed as an exact integer offset
between blocks plus a difference of small float32 numbers, so its error does not grow with T.

Implementations (all exact; `auto` = plain up to T = 1024, blockwise above; it never picks pallas):
  * `plain`: materialises the (T, T) logits; cheapest for short sequences (image patches).
  * `blockwise`: flash-style online softmax over (query block, key block) tiles, one `lax.scan` over the
    causal tiles (static trip count, so the harness can meter it), with a custom VJP whose backward
    recomputes each tile from the saved log-sum-exp. Memory is O(T) per head: T x T is never built.
  * `pallas`: forward and backward Pallas (Triton) kernels (`fox_pallas`) on CUDA GPUs, and `blockwise` on
    any other platform, chosen at lowering by `lax.platform_dependent`. The FLOP meter counts the CPU
    branch, so a kernel call is charged the FLOPs of the blockwise algorithm it implements.

Because c_i is constant along a softmax row, the output depends on c only through -c_j, so
dL/dc = -colsum(dS) and dL/dlog f is its reverse cumsum (autodiff of the cumsum gives that).

ACP: with `acp_epsilon`, a tile (query rows [m0, m1], key cols [n0, n1], n1 < m0) is pruned when its largest
decay c[m0] - c[n1] is below delta = -2U - log T + log eps per (batch, head), U >= max |q.k| / sqrt(d).
The pruned attention mass of every row is then below eps and the output moves by at most 2 eps max|v|.
Every implementation drops the same tiles from the result, but they skip different amounts of work: plain
masks (computes all T x T logits, skips nothing); blockwise skips a tile's compute (`lax.cond`) only when
every (batch, head) prunes it and masks it per (batch, head) otherwise; the Pallas kernels skip per
(batch, head) program. `AcpStats` reports both what the rule pruned and what the implementation in use
skipped; the FLOP meter charges a cond its expensive branch, so `flops_saved` is what a harness may credit.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nevis.learners.nn.fox_decay import MASK_VALUE, BlockDecay, base_per_position, block_decay, num_blocks

# Above this length `auto` switches from the materialised form to the blockwise one.
PLAIN_MAX_LENGTH = 1024
IMPLEMENTATIONS = ("auto", "plain", "blockwise", "pallas")


class AcpStats(NamedTuple):
  """What ACP pruned and what the forward skipped, as int32/float32 scalars (traceable, so they can leave a jit).

  A tile is one (batch, head, query block, key block) of the causal lower triangle; `total_blocks` counts
  them all. `pruned_blocks`: tiles the rule drops from the result. `skipped_blocks`: tiles whose forward
  compute the implementation in use skipped (`skipped_tiles`; `pallas` off a CUDA GPU runs blockwise).
  `flops_saved` counts their two matmuls (4 * block^2 * head_dim per tile); the backward skips the same
  tiles (another ~2.5x that, not included).
  """
  skipped_blocks: jax.Array
  total_blocks: jax.Array
  flops_saved: jax.Array
  pruned_blocks: jax.Array


def log_forget_gate(logits: jax.Array) -> jax.Array:
  """log sigmoid(logits) in float32 (cast first: the cumulative sum must not be rounded in bf16)."""
  return jax.nn.log_sigmoid(logits.astype(jnp.float32))


def forgetting_attention(q: jax.Array, k: jax.Array, v: jax.Array, log_fgate: jax.Array, *,
                         acp_epsilon: float | None = None, qk_bound: jax.Array | float | None = None,
                         implementation: str = "auto", block_size: int = 128) -> jax.Array:
  """Causal forgetting attention. q, k, v: (B, T, H, D); log_fgate: (B, T, H) float32 -> (B, T, H, D).

  `qk_bound`: optional U (scalar, (H,) or (B, H)); by default U = max_t|q_t| max_t|k_t| / sqrt(D) per
  (batch, head). `block_size` is the ACP tile (both implementations prune the same tiles) and the
  blockwise tile.
  """
  out, _ = forgetting_attention_with_stats(q, k, v, log_fgate, acp_epsilon=acp_epsilon, qk_bound=qk_bound,
                                           implementation=implementation, block_size=block_size)
  return out


@functools.partial(jax.jit, static_argnames=("acp_epsilon", "implementation", "block_size"))
def forgetting_attention_with_stats(q: jax.Array, k: jax.Array, v: jax.Array, log_fgate: jax.Array, *,
                                    acp_epsilon: float | None = None,
                                    qk_bound: jax.Array | float | None = None, implementation: str = "auto",
                                    block_size: int = 128) -> tuple[jax.Array, AcpStats]:
  """As `forgetting_attention`, also returning `AcpStats` (all zeros when ACP is off)."""
  _check_shapes(q, k, v, log_fgate)
  if implementation not in IMPLEMENTATIONS:
    raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
  batch, length, heads, head_dim = q.shape
  block = _tile_size(length, block_size)
  if implementation == "auto":
    implementation = "plain" if length <= PLAIN_MAX_LENGTH else "blockwise"
  decay = block_decay(log_fgate, block)

  keep = None
  if acp_epsilon is not None:
    delta = acp_threshold(q, k, acp_epsilon, qk_bound)
    keep = _keep_tiles(decay, delta, block)  # (B, H, nb, nb)
  stats = _stats(keep, implementation, batch, heads, length, block, head_dim)

  if implementation == "plain":
    out = _plain(q, k, v, decay, keep, block)
  elif implementation == "blockwise":
    out = _blockwise(q, k, v, decay, keep, block)
  else:
    from nevis.learners.nn import fox_pallas  # Optional dependency on Pallas; imported only when asked for.
    out = jax.lax.platform_dependent(
        q, k, v, decay, keep,
        cuda=lambda *xs: fox_pallas.forgetting_attention_pallas(*xs, block_size=block),
        default=lambda q, k, v, decay, keep: _blockwise(q, k, v, decay, keep, block))
  return out, stats


def acp_threshold(q: jax.Array, k: jax.Array, epsilon: float,
                  qk_bound: jax.Array | float | None = None) -> jax.Array:
  """delta = -2U - log T + log eps per (batch, head), as (B, H) float32 without gradient."""
  if not epsilon > 0:
    raise ValueError(f"acp_epsilon must be > 0, got {epsilon}")
  batch, length, heads, head_dim = q.shape
  if qk_bound is None:
    q_norm = jnp.sqrt(jnp.max(jnp.sum(jnp.square(q.astype(jnp.float32)), -1), axis=1))  # (B, H)
    k_norm = jnp.sqrt(jnp.max(jnp.sum(jnp.square(k.astype(jnp.float32)), -1), axis=1))
    bound = q_norm * k_norm / math.sqrt(head_dim)
  else:
    bound = jnp.broadcast_to(jnp.asarray(qk_bound, jnp.float32), (batch, heads))
  delta = -2.0 * bound - math.log(length) + math.log(epsilon)
  return jax.lax.stop_gradient(delta)


def _check_shapes(q, k, v, log_fgate) -> None:
  if q.ndim != 4 or q.shape != k.shape or q.shape != v.shape:
    raise ValueError(f"q, k, v must share a (batch, time, heads, head_dim) shape, got {q.shape}, {k.shape}, "
                     f"{v.shape}")
  if log_fgate.shape != q.shape[:3]:
    raise ValueError(f"log_fgate must have shape {q.shape[:3]}, got {log_fgate.shape}")


def _tile_size(length: int, block_size: int) -> int:
  if block_size < 1:
    raise ValueError(f"block_size must be >= 1, got {block_size}")
  return min(block_size, length)


def _keep_tiles(decay: BlockDecay, delta: jax.Array, block: int) -> jax.Array:
  """(B, H, nb, nb) bool: tile (qb, kb) is visited. Diagonal tiles always are (their largest decay is 0).

  Each query block keeps a run of key blocks ending at the diagonal, from the first tile whose largest
  decay reaches delta. With log f <= 0 (c non-increasing) that is exactly the set of such tiles; with
  log f > 0 somewhere it keeps a few more, so that every implementation (and the kernels' loop bounds)
  prunes the same tiles.
  """
  batch, length, heads = decay.local.shape
  nb = num_blocks(length, block)
  starts = np.arange(nb) * block
  ends = np.minimum(starts + block, length) - 1
  local, base = jnp.transpose(decay.local, (0, 2, 1)), jnp.transpose(decay.base, (0, 2, 1))  # (B, H, T / nb)
  # c[start of qb] - c[end of kb]: (B, H, qb, kb), the tile's largest decay when c is non-increasing.
  largest_decay = (base[:, :, :, None] - base[:, :, None, :]) + (local[:, :, starts, None] - local[:, :, None, ends])
  lower = np.tril(np.ones((nb, nb), bool), -1)
  diagonal = np.eye(nb, dtype=bool)
  reaches = diagonal | (lower & (largest_decay >= delta[:, :, None, None]))
  first = jnp.argmax(reaches, axis=-1)  # (B, H, nb)
  return (np.arange(nb) >= first[..., None]) & np.tril(np.ones((nb, nb), bool))


def _stats(keep: jax.Array | None, implementation: str, batch: int, heads: int, length: int, block: int,
           head_dim: int) -> AcpStats:
  nb = num_blocks(length, block)
  total = batch * heads * nb * (nb + 1) // 2
  if keep is None:
    pruned = skipped = jnp.zeros((), jnp.int32)
  else:
    pruned = total - jnp.sum(keep & np.tril(np.ones((nb, nb), bool)), dtype=jnp.int32)
    if implementation == "pallas":  # The kernels run on CUDA only; elsewhere `pallas` runs blockwise.
      skipped = jax.lax.platform_dependent(keep, cuda=lambda keep: skipped_tiles(keep, "pallas"),
                                           default=lambda keep: skipped_tiles(keep, "blockwise"))
    else:
      skipped = skipped_tiles(keep, implementation)
  flops = skipped.astype(jnp.float32) * (4.0 * block * block * head_dim)
  return AcpStats(skipped, jnp.asarray(total, jnp.int32), flops, pruned)


def skipped_tiles(keep: jax.Array, implementation: str) -> jax.Array:
  """Tiles whose forward compute `implementation` skips, given ACP's kept tiles `keep` (B, H, nb, nb).

  plain: none (it masks the materialised logits). blockwise: all B * H tiles of each (query block, key
  block) that no (batch, head) keeps (its `lax.cond` skips a tile for the whole batch or not at all).
  pallas (the CUDA kernels): per (batch, head, query block), the key blocks before the first kept one,
  where the forward program's loop starts. (Under `vmap` a cond computes both branches: nothing is skipped.)
  """
  batch, heads, nb = keep.shape[:3]
  if implementation == "blockwise":
    unused = ~jnp.any(keep, axis=(0, 1)) & np.tril(np.ones((nb, nb), bool))
    return batch * heads * jnp.sum(unused, dtype=jnp.int32)
  if implementation == "pallas":
    return jnp.sum(jnp.argmax(keep, axis=-1), dtype=jnp.int32)
  if implementation == "plain":
    return jnp.zeros((), jnp.int32)
  raise ValueError(f"implementation must be 'plain', 'blockwise' or 'pallas', got {implementation!r}")


def attend_to_prefix(q: jax.Array, k: jax.Array, v: jax.Array, c_q: jax.Array, c_k: jax.Array) -> jax.Array:
  """Forgetting attention of the last Tq of Tk positions (a cached prefix precedes them), materialised.

  q: (B, Tq, H, D); k, v: (B, Tk, H, D) for all Tk positions; c_q (B, Tq, H), c_k (B, Tk, H): the running
  sums of log f at those positions. Query i sits at position Tk - Tq + i and sees keys j <= that.
  """
  q_len, k_len, head_dim = q.shape[1], k.shape[1], q.shape[3]
  logits = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) / math.sqrt(head_dim)
  c_q, c_k = jnp.transpose(c_q, (0, 2, 1)), jnp.transpose(c_k, (0, 2, 1))
  logits = logits + (c_q[..., :, None] - c_k[..., None, :])
  allowed = np.arange(k_len)[None, :] <= np.arange(q_len)[:, None] + (k_len - q_len)
  weights = jax.nn.softmax(jnp.where(allowed, logits, MASK_VALUE), axis=-1)
  return jnp.einsum("bhqk,bkhd->bqhd", weights, v.astype(jnp.float32)).astype(q.dtype)


# ---------------------------------------------------------------------------------------------------------
# Plain: (T, T) logits.


def _plain(q, k, v, decay, keep, block):
  length, head_dim = q.shape[1], q.shape[3]
  scale = 1.0 / math.sqrt(head_dim)
  logits = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) * scale
  local, base = (jnp.transpose(x, (0, 2, 1)) for x in (decay.local, base_per_position(decay, block)))
  logits = logits + ((base[:, :, :, None] - base[:, :, None, :]) + (local[:, :, :, None] - local[:, :, None, :]))
  allowed = jnp.asarray(np.tril(np.ones((length, length), bool)))
  if keep is not None:
    tile = np.arange(length) // block
    allowed = allowed & keep[:, :, tile[:, None], tile[None, :]]
  logits = jnp.where(allowed, logits, MASK_VALUE)
  weights = jax.nn.softmax(logits, axis=-1)
  out = jnp.einsum("bhqk,bkhd->bqhd", weights, v.astype(jnp.float32))
  return out.astype(q.dtype)


# ---------------------------------------------------------------------------------------------------------
# Blockwise: flash-style tiles with a custom VJP.


def _causal_tile_pairs(nb: int) -> tuple[np.ndarray, np.ndarray]:
  query_blocks, key_blocks = np.tril_indices(nb)
  return query_blocks.astype(np.int32), key_blocks.astype(np.int32)


def _to_tiles(x: jax.Array, block: int, pad_mode: str = "constant") -> jax.Array:
  """(B, T, H, ...) -> (nb, B, H, block, ...), padding T at the end (causality hides the padding)."""
  batch, length, heads = x.shape[:3]
  nb = num_blocks(length, block)
  pad = nb * block - length
  x = jnp.pad(x, [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2), mode=pad_mode)
  x = x.reshape((batch, nb, block, heads) + x.shape[3:])
  axes = (1, 0, 3, 2) + tuple(range(4, x.ndim))
  return jnp.transpose(x, axes)


def _from_tiles(x: jax.Array, length: int) -> jax.Array:
  """(nb, B, H, block, ...) -> (B, T, H, ...)."""
  nb, batch, heads, block = x.shape[:4]
  axes = (1, 0, 3, 2) + tuple(range(4, x.ndim))
  x = jnp.transpose(x, axes).reshape((batch, nb * block, heads) + x.shape[4:])
  return x[:, :length]


def _tile_logits(q_tile, k_tile, cq_tile, ck_tile, offset, on_diagonal, scale):
  """offset: base[qb] - base[kb] (B, H), an exact integer; cq, ck: `local` of the tile's rows and columns."""
  logits = jnp.einsum("bhqd,bhkd->bhqk", q_tile, k_tile, preferred_element_type=jnp.float32) * scale
  logits = logits + (offset[..., None, None] + (cq_tile[..., :, None] - ck_tile[..., None, :]))
  block = q_tile.shape[-2]
  causal = jnp.asarray(np.tril(np.ones((block, block), bool)))
  return jnp.where(causal | jnp.logical_not(on_diagonal), logits, MASK_VALUE)


def _blockwise(q, k, v, decay, keep, block):
  keep_pairs = None
  if keep is not None:
    nb = keep.shape[-1]
    qb, kb = _causal_tile_pairs(nb)
    keep_pairs = jnp.transpose(keep[:, :, qb, kb], (2, 0, 1))  # (pairs, B, H)
  return _flash(q, k, v, decay.local, decay.base, keep_pairs, block)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def _flash(q, k, v, local, base, keep_pairs, block):
  out, _ = _flash_forward(q, k, v, local, base, keep_pairs, block)
  return out


def _decay_tiles(local, base, block):
  """`local` as (nb, B, H, block), padded with its last value (padded keys decay like the last real key),
  and `base` as (nb, B, H)."""
  return _to_tiles(local, block, "edge"), jnp.transpose(base, (1, 0, 2))


def _flash_forward(q, k, v, local, base, keep_pairs, block):
  batch, length, heads, head_dim = q.shape
  scale = 1.0 / math.sqrt(head_dim)
  nb = num_blocks(length, block)
  q_tiles, k_tiles, v_tiles = (_to_tiles(x, block) for x in (q, k, v))
  c_tiles, base_tiles = _decay_tiles(local, base, block)
  query_blocks, key_blocks = _causal_tile_pairs(nb)

  def tile_update(acc, row_max, row_sum, qi, ki):
    logits = _tile_logits(q_tiles[qi], k_tiles[ki], c_tiles[qi], c_tiles[ki], base_tiles[qi] - base_tiles[ki],
                          qi == ki, scale)
    new_max = jnp.maximum(row_max, jnp.max(logits, axis=-1))
    weights = jnp.exp(logits - new_max[..., None])
    rescale = jnp.exp(row_max - new_max)
    new_sum = rescale * row_sum + jnp.sum(weights, axis=-1)
    values = v_tiles[ki].astype(jnp.float32)
    new_acc = rescale[..., None] * acc + jnp.einsum("bhqk,bhkd->bhqd", weights, values)
    return new_acc, new_max, new_sum

  def step(carry, pair):
    acc, row_max, row_sum = carry
    qi, ki, keep_bh = pair
    old = (acc[qi], row_max[qi], row_sum[qi])
    if keep_bh is None:
      new = tile_update(*old, qi, ki)
    else:
      # Skip the tile's compute when every (batch, head) prunes it; otherwise mask per (batch, head).
      new = jax.lax.cond(jnp.any(keep_bh), lambda: tile_update(*old, qi, ki), lambda: old)
      new = tuple(jnp.where(keep_bh.reshape(keep_bh.shape + (1,) * (n.ndim - 2)), n, o)
                  for n, o in zip(new, old))
    acc, row_max, row_sum = (x.at[qi].set(n) for x, n in zip((acc, row_max, row_sum), new))
    return (acc, row_max, row_sum), None

  acc = jnp.zeros((nb, batch, heads, block, head_dim), jnp.float32)
  row_max = jnp.full((nb, batch, heads, block), MASK_VALUE, jnp.float32)
  row_sum = jnp.zeros((nb, batch, heads, block), jnp.float32)
  pairs = (jnp.asarray(query_blocks), jnp.asarray(key_blocks), keep_pairs)
  (acc, row_max, row_sum), _ = jax.lax.scan(step, (acc, row_max, row_sum), pairs)
  out_tiles = acc / row_sum[..., None]
  log_sum_exp = row_max + jnp.log(row_sum)
  out = _from_tiles(out_tiles, length).astype(q.dtype)
  return out, log_sum_exp


def _flash_fwd(q, k, v, local, base, keep_pairs, block):
  out, log_sum_exp = _flash_forward(q, k, v, local, base, keep_pairs, block)
  return out, (q, k, v, local, base, keep_pairs, out, log_sum_exp)


def _flash_bwd(block, residuals, d_out):
  q, k, v, local, base, keep_pairs, out, log_sum_exp = residuals
  batch, length, heads, head_dim = q.shape
  scale = 1.0 / math.sqrt(head_dim)
  nb = num_blocks(length, block)
  q_tiles, k_tiles, v_tiles = (_to_tiles(x, block) for x in (q, k, v))
  c_tiles, base_tiles = _decay_tiles(local, base, block)
  d_out_tiles = _to_tiles(d_out.astype(jnp.float32), block)
  # D_i = do_i . o_i, the row term of the softmax backward.
  row_dot = _to_tiles(jnp.sum(d_out.astype(jnp.float32) * out.astype(jnp.float32), -1), block)
  query_blocks, key_blocks = _causal_tile_pairs(nb)

  def tile_grads(qi, ki):
    logits = _tile_logits(q_tiles[qi], k_tiles[ki], c_tiles[qi], c_tiles[ki], base_tiles[qi] - base_tiles[ki],
                          qi == ki, scale)
    weights = jnp.exp(logits - log_sum_exp[qi][..., None])
    d_out_tile = d_out_tiles[qi]
    d_v = jnp.einsum("bhqk,bhqd->bhkd", weights, d_out_tile)
    d_weights = jnp.einsum("bhqd,bhkd->bhqk", d_out_tile, v_tiles[ki].astype(jnp.float32))
    d_logits = weights * (d_weights - row_dot[qi][..., None])
    d_q = jnp.einsum("bhqk,bhkd->bhqd", d_logits, k_tiles[ki].astype(jnp.float32)) * scale
    d_k = jnp.einsum("bhqk,bhqd->bhkd", d_logits, q_tiles[qi].astype(jnp.float32)) * scale
    # Only -c_j matters (c_i cancels in the row softmax), so the row sum of d_logits is dropped.
    d_c = -jnp.sum(d_logits, axis=-2)
    return d_q, d_k, d_v, d_c

  def zero_grads():
    tile = (batch, heads, block)
    z = jnp.zeros(tile + (head_dim,), jnp.float32)
    return z, z, z, jnp.zeros(tile, jnp.float32)

  def step(carry, pair):
    d_q, d_k, d_v, d_c = carry
    qi, ki, keep_bh = pair
    if keep_bh is None:
      grads = tile_grads(qi, ki)
    else:
      grads = jax.lax.cond(jnp.any(keep_bh), lambda: tile_grads(qi, ki), zero_grads)
      grads = tuple(g * keep_bh.reshape(keep_bh.shape + (1,) * (g.ndim - 2)) for g in grads)
    g_q, g_k, g_v, g_c = grads
    return (d_q.at[qi].add(g_q), d_k.at[ki].add(g_k), d_v.at[ki].add(g_v), d_c.at[ki].add(g_c)), None

  zeros = jnp.zeros((nb, batch, heads, block, head_dim), jnp.float32)
  init = (zeros, zeros, zeros, jnp.zeros((nb, batch, heads, block), jnp.float32))
  pairs = (jnp.asarray(query_blocks), jnp.asarray(key_blocks), keep_pairs)
  (d_q, d_k, d_v, d_c), _ = jax.lax.scan(step, init, pairs)
  # c_t = base[t // block] + local[t]: dL/dlocal = dL/dc, dL/dbase its sum over the block (0 on padding).
  d_base = jnp.transpose(jnp.sum(d_c, axis=-1), (1, 0, 2))
  d_q, d_k, d_v, d_c = (_from_tiles(x, length) for x in (d_q, d_k, d_v, d_c))
  return d_q.astype(q.dtype), d_k.astype(k.dtype), d_v.astype(v.dtype), d_c, d_base, None


_flash.defvjp(_flash_fwd, _flash_bwd)
