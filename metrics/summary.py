"""One stream's errors summed up in the two ways NEVIS'22 reports them."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def stream_summary(errors: Sequence[float], num_examples: Sequence[int]) -> dict:
  """Summary of per-task errors (one entry per evaluated task, same order in both sequences).

  `mean_error` is the unweighted mean over tasks (NEVIS' headline average: every task counts the same
  whatever its size); `weighted_error` weights each task by its number of evaluation examples. Both are
  nan for an empty stream; `weighted_error` is also nan when there are no examples at all.
  """
  errors_array = np.asarray(errors, dtype=np.float64).ravel()
  counts = np.asarray(num_examples, dtype=np.float64).ravel()
  if errors_array.shape != counts.shape:
    raise ValueError(f"{errors_array.size} errors but {counts.size} example counts")
  if not np.all((counts >= 0) & (counts == np.floor(counts))):
    raise ValueError(f"num_examples must be non-negative integers; got {list(num_examples)}")
  total = counts.sum()
  return {
    "mean_error": float(errors_array.mean()) if errors_array.size else float("nan"),
    "weighted_error": float((errors_array * counts).sum() / total) if total > 0 else float("nan"),
    "num_tasks": int(errors_array.size),
  }
