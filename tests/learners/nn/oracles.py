"""Float64 NumPy oracles for the sequence-layer tests (independent of the JAX code under test)."""
from __future__ import annotations

import numpy as np


def fox_forward(q, k, v, log_fgate, allowed=None):
  """Forgetting attention in float64. Returns (out (B,T,H,D), probabilities (B,H,T,T)).

  `allowed` (B, H, T, T) bool, optional: extra mask (ACP) on top of causality.
  """
  q, k, v, log_fgate = (np.asarray(x, np.float64) for x in (q, k, v, log_fgate))
  length, head_dim = q.shape[1], q.shape[3]
  c = np.cumsum(log_fgate, axis=1).transpose(0, 2, 1)  # (B, H, T)
  logits = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(head_dim) + c[..., :, None] - c[..., None, :]
  mask = np.tril(np.ones((length, length), bool))
  if allowed is not None:
    mask = mask & allowed
  logits = np.where(mask, logits, -np.inf)
  logits -= logits.max(-1, keepdims=True)
  probs = np.exp(logits)
  probs /= probs.sum(-1, keepdims=True)
  return np.einsum("bhqk,bkhd->bqhd", probs, v), probs


def fox_backward(q, k, v, log_fgate, d_out, allowed=None):
  """Gradients of sum(out * d_out) w.r.t. (q, k, v, log_fgate), float64, by hand."""
  q, k, v, d_out = (np.asarray(x, np.float64) for x in (q, k, v, d_out))
  head_dim = q.shape[3]
  _, probs = fox_forward(q, k, v, log_fgate, allowed)
  d_v = np.einsum("bhqk,bqhd->bkhd", probs, d_out)
  d_probs = np.einsum("bqhd,bkhd->bhqk", d_out, v)
  d_logits = probs * (d_probs - np.sum(d_probs * probs, -1, keepdims=True))
  d_q = np.einsum("bhqk,bkhd->bqhd", d_logits, k) / np.sqrt(head_dim)
  d_k = np.einsum("bhqk,bqhd->bkhd", d_logits, q) / np.sqrt(head_dim)
  d_c = (d_logits.sum(-1) - d_logits.sum(-2)).transpose(0, 2, 1)  # logits depend on +c_i and -c_j
  d_log_fgate = np.flip(np.cumsum(np.flip(d_c, 1), 1), 1)  # c_m = sum_{t<=m} log f_t
  return d_q, d_k, d_v, d_log_fgate


def fox_product_form(q, k, v, log_fgate):
  """o_i = sum_j F_ij e^{s_ij} v_j / sum_j F_ij e^{s_ij} with F_ij = prod_{l=j+1..i} f_l, by loops."""
  q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
  f = np.exp(np.asarray(log_fgate, np.float64))
  batch, length, heads, head_dim = q.shape
  out = np.zeros(q.shape)
  for b in range(batch):
    for h in range(heads):
      for i in range(length):
        weights = np.array([decay(f[b, :, h], j, i) * np.exp(q[b, i, h] @ k[b, j, h] / np.sqrt(head_dim))
                            for j in range(i + 1)])
        out[b, i, h] = weights @ v[b, :i + 1, h] / weights.sum()
  return out


def decay(f, j, i):
  """F_ij = prod_{l=j+1..i} f_l."""
  return np.prod(f[j + 1:i + 1])


def acp_allowed(q, k, log_fgate, epsilon, block):
  """The ACP tile mask (B, H, T, T), from the rule: prune off-diagonal tile iff c[m0] - c[n1] < delta."""
  q, k = np.asarray(q, np.float64), np.asarray(k, np.float64)
  batch, length, heads, head_dim = q.shape
  c = np.cumsum(np.asarray(log_fgate, np.float64), axis=1).transpose(0, 2, 1)
  norms = lambda x: np.linalg.norm(x, axis=-1).max(1)  # (B, H)
  bound = norms(q) * norms(k) / np.sqrt(head_dim)
  delta = -2 * bound - np.log(length) + np.log(epsilon)
  allowed = np.ones((batch, heads, length, length), bool)
  num_blocks = -(-length // block)
  skipped = 0
  for qb in range(num_blocks):
    for kb in range(qb):
      m0, n1 = qb * block, min((kb + 1) * block, length) - 1
      prune = c[:, :, m0] - c[:, :, n1] < delta  # (B, H)
      skipped += int(prune.sum())
      rows, cols = slice(m0, (qb + 1) * block), slice(kb * block, (kb + 1) * block)
      allowed[:, :, rows, cols] &= ~prune[:, :, None, None]
  return allowed, skipped


def linear_recurrence(a, b):
  """h_t = a_t h_{t-1} + b_t along axis 1, h_{-1} = 0, by a Python loop in float64."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  h = np.zeros(a.shape[:1] + a.shape[2:])
  out = np.zeros(a.shape)
  for t in range(a.shape[1]):
    h = a[:, t] * h + b[:, t]
    out[:, t] = h
  return out


def fox_chunked(q, k, v, log_fgate, d_out=None, chunk=512):
  """`fox_forward` (out) and, given d_out, `fox_backward` (d_q, d_k, d_v, d_log_fgate) for long sequences:
  float64, a chunk of query rows at a time, so (chunk, T) and never (T, T) logits are held."""
  q, k, v, log_fgate = (np.asarray(x, np.float64) for x in (q, k, v, log_fgate))
  batch, length, heads, head_dim = q.shape
  c = np.cumsum(log_fgate, axis=1).transpose(0, 2, 1)  # (B, H, T)
  out, d_q, d_k, d_v = (np.zeros(q.shape) for _ in range(4))
  d_c = np.zeros((batch, heads, length))
  for start in range(0, length, chunk):
    end = min(length, start + chunk)
    logits = np.einsum("bqhd,bkhd->bhqk", q[:, start:end], k[:, :end]) / np.sqrt(head_dim)
    logits += c[:, :, start:end, None] - c[:, :, None, :end]
    logits = np.where(np.arange(end)[None, :] <= np.arange(start, end)[:, None], logits, -np.inf)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out[:, start:end] = np.einsum("bhqk,bkhd->bqhd", probs, v[:, :end])
    if d_out is None:
      continue
    rows = np.asarray(d_out[:, start:end], np.float64)
    d_probs = np.einsum("bqhd,bkhd->bhqk", rows, v[:, :end])
    d_logits = probs * (d_probs - np.sum(d_probs * probs, -1, keepdims=True))
    d_q[:, start:end] = np.einsum("bhqk,bkhd->bqhd", d_logits, k[:, :end]) / np.sqrt(head_dim)
    d_k[:, :end] += np.einsum("bhqk,bqhd->bkhd", d_logits, q[:, start:end]) / np.sqrt(head_dim)
    d_v[:, :end] += np.einsum("bhqk,bqhd->bkhd", probs, rows)
    d_c[:, :, start:end] += d_logits.sum(-1)
    d_c[:, :, :end] -= d_logits.sum(-2)
  if d_out is None:
    return out
  d_log_fgate = np.flip(np.cumsum(np.flip(d_c.transpose(0, 2, 1), 1), 1), 1)
  return out, (d_q, d_k, d_v, d_log_fgate)
