"""Per-class caps on a split (the low-data regime): `max_train_per_class`, `max_dev_per_class`."""
from __future__ import annotations

import numpy as np


def cap_per_class(labels: np.ndarray, cap: int, multi_label: bool, seed: int) -> np.ndarray:
  """Indices keeping at most `cap` examples per class (multi-label: per positive label, greedily)."""
  rng = np.random.default_rng([seed, 11])
  order = rng.permutation(len(labels))
  if not multi_label:
    keep = []
    counts: dict[int, int] = {}
    for i in order:
      c = int(labels[i])
      if counts.get(c, 0) < cap:
        counts[c] = counts.get(c, 0) + 1
        keep.append(i)
    return np.sort(np.asarray(keep, dtype=np.int64))
  counts_arr = np.zeros(labels.shape[1], np.int64)
  keep = []
  for i in order:
    positives = labels[i].astype(bool)
    if positives.any() and np.any(counts_arr[positives] < cap):
      counts_arr[positives] += 1
      keep.append(i)
  return np.sort(np.asarray(keep, dtype=np.int64))
