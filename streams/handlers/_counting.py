"""Counting as classification (Mall, TRANCOS): counts bucketed into contiguous ranges of about equal size.

dm_nevis (handlers/mall.py, trancos.py) histograms the counts over [0, max_count) (larger counts in the
last bin), cuts the cumulative histogram at multiples of total / num_classes, and names each bucket
"<first>-<bound>" with its own quirky bounds; both are reproduced here.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def count_buckets(counts: Sequence[int], num_classes: int, max_count: int) -> tuple[list[int], list[str]]:
  """(label of each count 0..max_count-1, bucket names in label order)."""
  histogram = np.zeros(max_count)
  for count in counts:
    histogram[min(int(count), max_count - 1)] += 1
  cumulative = np.cumsum(histogram)
  per_bucket = histogram.sum() / num_classes
  bounds = []
  for k in range(1, num_classes):
    below = np.flatnonzero(cumulative < per_bucket * k)
    if not len(below):
      raise ValueError(f"too few distinct counts to make {num_classes} buckets")
    bounds.append(int(below[-1]))
  bounds.append(max_count)
  label_of_count, names = [], []
  label, first = 0, 0
  for count in range(max_count):
    if count > bounds[label]:
      names.append(f"{first}-{count}")
      label += 1
      first = count + 1
    label_of_count.append(label)
  names.append(f"{first}-{max_count}")
  if label != num_classes - 1:
    raise ValueError(f"counts make {label + 1} buckets, not {num_classes}")
  return label_of_count, names


def label_of(count: int, label_of_count: Sequence[int]) -> int:
  return label_of_count[min(int(count), len(label_of_count) - 1)]
