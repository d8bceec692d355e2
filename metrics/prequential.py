"""Prequential (predictive-sequential) code length of a task's training labels.

Block-wise (Blier & Ollivier 2018): the data is cut at `chunk_boundaries(n)` = [t_1, ..., t_S = n].
The first t_1 labels are sent with the uniform code; each later chunk (t_s, t_{s+1}] is encoded by a
model trained on the first t_s examples, costing its summed negative log-likelihood. So

  L = t_1 * u + sum over examples after t_1 of nll,   u = `uniform_nats_per_example(K, multi_label)`.

Online (Bornschein et al. 2022): every example is scored before it is trained on, L = sum of nll.
Everything is stored in nats (what log_softmax gives) and reported in both nats and bits.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np
import numpy.typing as npt

NllInput = Union[npt.ArrayLike, Sequence[npt.ArrayLike]]

# A per-example nll a little below zero is float32 round-off; anything lower is a sign error upstream.
_NEGATIVE_NLL_TOLERANCE = 1e-5


def chunk_boundaries(n: int, *, first_chunk: int = 10, ratio: float = 2.0) -> list[int]:
  """End points [t_1, ..., n] of the prequential chunks: t_1 = min(first_chunk, n), then geometric.

  t_{s+1} = min(n, max(t_s + 1, floor(t_s * ratio + 0.5))), so with the default ratio 2 each chunk
  doubles: n=100 -> [10, 20, 40, 80, 100]. A short last chunk is kept, not merged into the one before
  it: the boundaries for n are then a prefix of the schedule for any larger n, so runs on nested data
  share their chunks. n=0 -> [].
  """
  if isinstance(n, bool) or int(n) != n or n < 0:
    raise ValueError(f"n must be a non-negative integer; got {n!r}")
  if isinstance(first_chunk, bool) or int(first_chunk) != first_chunk or first_chunk < 1:
    raise ValueError(f"first_chunk must be a positive integer; got {first_chunk!r}")
  if not ratio > 1.0:
    raise ValueError(f"ratio must be > 1; got {ratio!r}")
  n, boundary = int(n), min(int(first_chunk), int(n))
  boundaries = []
  while boundary > 0:
    boundaries.append(boundary)
    if boundary == n:
      break
    boundary = min(n, max(boundary + 1, math.floor(boundary * ratio + 0.5)))
  return boundaries


def later_chunks(boundaries: Sequence[int]) -> list[tuple[int, int]]:
  """(train_end, encode_end) per chunk after the first: train on [0, train_end), encode the rest."""
  return list(zip(boundaries[:-1], boundaries[1:]))


def uniform_nats_per_example(num_classes: int, multi_label: bool = False) -> float:
  """Uniform code of one example's label: ln K, or K * ln 2 for K independent binary labels."""
  if num_classes < 1:
    raise ValueError(f"num_classes must be >= 1; got {num_classes}")
  return num_classes * math.log(2.0) if multi_label else math.log(num_classes)


def _flat_nll(nll_nats: NllInput) -> np.ndarray:
  """One flat float64 array from a flat array or a sequence of per-chunk arrays (or scalars)."""
  if isinstance(nll_nats, (list, tuple)):
    # Chunks may differ in length, so they cannot go through one np.asarray.
    parts = [np.asarray(part, dtype=np.float64).ravel() for part in nll_nats]
    flat = np.concatenate(parts) if parts else np.zeros(0)
  else:
    flat = np.asarray(nll_nats, dtype=np.float64).ravel()
  if np.isnan(flat).any():
    raise ValueError("per-example nll contains NaN")
  if flat.size and flat.min() < -_NEGATIVE_NLL_TOLERANCE:
    raise ValueError(f"per-example nll must be >= 0 nats (got {flat.min()}); pass -log p, not log p")
  return flat


def online_code_length(nll_nats: NllInput) -> float:
  """Online prequential code length in nats: the sum of every example's nll, scored before training."""
  return float(_flat_nll(nll_nats).sum())


def blockwise_code_length(
  num_classes: int, first_chunk_size: int, later_nll_nats: NllInput, multi_label: bool = False
) -> float:
  """Block-wise code length in nats: first_chunk_size * uniform + the summed nll of all later examples."""
  if first_chunk_size < 0:
    raise ValueError(f"first_chunk_size must be >= 0; got {first_chunk_size}")
  uniform = uniform_nats_per_example(num_classes, multi_label)
  return float(first_chunk_size * uniform + _flat_nll(later_nll_nats).sum())


def report(code_length_nats: float, num_examples: int, num_classes: int, multi_label: bool = False) -> dict:
  """Code length in the units to log, against the uniform code of the same n labels.

  `preq_ratio` = L / (n * uniform): 1.0 is no better than the uniform code, below 1 is compression
  (Blier & Ollivier report the inverse, the compression ratio). nan when n == 0 or the uniform code is
  empty (one class, single-label).
  """
  if num_examples < 0:
    raise ValueError(f"num_examples must be >= 0; got {num_examples}")
  preq_bits = code_length_nats / math.log(2.0)
  uniform_nats = num_examples * uniform_nats_per_example(num_classes, multi_label)
  nan = float("nan")
  return {
    "preq_nats": float(code_length_nats),
    "preq_bits": float(preq_bits),
    "preq_nats_per_example": float(code_length_nats / num_examples) if num_examples else nan,
    "preq_bits_per_example": float(preq_bits / num_examples) if num_examples else nan,
    "uniform_bits": float(uniform_nats / math.log(2.0)),
    "preq_ratio": float(code_length_nats / uniform_nats) if uniform_nats > 0 else nan,
  }
