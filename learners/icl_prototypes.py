"""The `icl` learner's prototype route (icl_only on tasks a prompt cannot express): class means of encoder
features, scored by squared distance (see `nevis.learners.icl`'s docstring)."""
from __future__ import annotations

import numpy as np


def prototype_logits(features: np.ndarray, entry: dict, multi_label: bool) -> np.ndarray:
  """Nearest-class-mean scores (see module docstring) of unit-norm features (B, F)."""
  def squared_distances(means):
    return np.sum((features[:, None, :] - np.asarray(means)[None]) ** 2, axis=-1)

  if multi_label:
    logits = squared_distances(entry["negative"]) - squared_distances(entry["positive"])
  else:
    logits = -squared_distances(entry["means"])
  return logits.astype(np.float32)


def masked_means(features: np.ndarray, members: np.ndarray) -> np.ndarray:
  """(K, F) mean feature of each column of `members` (N, K); a column without members gets zeros."""
  members = members.astype(np.float64)
  counts = members.sum(axis=0)[:, None]
  return (members.T @ features / np.maximum(counts, 1.0)).astype(np.float32)
