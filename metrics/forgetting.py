"""Forgetting and backward transfer from an error matrix.

`E[i, j]` is the error on task j measured right after training task i; entries above the diagonal
(j > i, tasks not yet trained) are ignored whatever they hold, and nan marks a missing measurement.
Mid-run, the rows of tasks not yet trained are all nan: the "final" model is then the last row with a
measurement (`last_filled_row`), and only the tasks trained before it are scored. Errors, not
accuracies: positive forgetting means the final model got worse, positive backward transfer means
training later tasks lowered the error on earlier ones.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _as_error_matrix(error_matrix: npt.ArrayLike) -> np.ndarray:
  matrix = np.asarray(error_matrix, dtype=np.float64)
  if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
    raise ValueError(f"the error matrix must be square (T, T); got shape {matrix.shape}")
  # Upper-triangle entries would be zero-shot errors on future tasks: not part of these metrics.
  return np.where(np.tri(matrix.shape[0], dtype=bool), matrix, np.nan)


def _mean_of_measured(values: np.ndarray) -> float:
  measured = values[~np.isnan(values)]
  return float(measured.mean()) if measured.size else float("nan")


def last_filled_row(error_matrix: npt.ArrayLike) -> int:
  """Index of the last row (training step) with any measurement on or below the diagonal; -1 if none."""
  matrix = _as_error_matrix(error_matrix)
  filled = np.flatnonzero(~np.isnan(matrix).all(axis=1))
  return int(filled[-1]) if filled.size else -1


def forgetting(error_matrix: npt.ArrayLike) -> np.ndarray:
  """(T,) per task j: E[f, j] - min_{j <= i < f} E[i, j], with f = `last_filled_row`.

  How much worse the final model is on task j than the best model seen before it (negative if the final
  model is the best). nan for tasks j >= f (the last trained task and tasks not yet trained) and where
  a needed measurement is missing.
  """
  matrix = _as_error_matrix(error_matrix)
  num_tasks = matrix.shape[0]
  final_row = last_filled_row(matrix)
  result = np.full(num_tasks, np.nan)
  for task in range(max(final_row, 0)):
    earlier = matrix[task:final_row, task]
    earlier = earlier[~np.isnan(earlier)]
    if earlier.size:
      result[task] = matrix[final_row, task] - earlier.min()
  return result


def average_forgetting(error_matrix: npt.ArrayLike) -> float:
  """Mean of `forgetting` over the tasks trained before the final row (missing values left out)."""
  return _mean_of_measured(forgetting(error_matrix))


def backward_transfer(error_matrix: npt.ArrayLike) -> float:
  """Mean over j < f of E[j, j] - E[f, j], with f = `last_filled_row`; positive means improvement."""
  matrix = _as_error_matrix(error_matrix)
  final_row = last_filled_row(matrix)
  if final_row < 1:
    return float("nan")
  tasks = np.arange(final_row)
  return _mean_of_measured(matrix[tasks, tasks] - matrix[final_row, tasks])
