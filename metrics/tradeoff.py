"""The compute-error trade-off: spread over seeds, the Pareto front, error at fixed budgets and the area
under the error-versus-log-compute curve (NEVIS'22's figure; BudgetCL's evaluation at several budgets).

Conventions:
- A configuration is summarised over its seeds by the mean and a two-sided Student-t confidence interval
  of the mean (`seed_interval`); with one seed the half-width is undefined (nan), never 0.
- Lower is better on both axes. A point is on the Pareto front when no other point has compute <= and
  error <= with at least one strictly lower; equal points are all kept.
- `error_at_budget` is the lowest error among runs whose compute fits the budget (a learner may always
  stop early, so more budget never makes it worse): a step function of the budget.
- `log_compute_area` is the area under the piecewise-linear error curve over log10(compute), divided by
  the log10 range it spans: the mean error over that range of budgets on a log scale, in error units.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Interval:
  mean: float
  half_width: float  # nan with fewer than two values
  count: int

  @property
  def low(self) -> float:
    return self.mean - self.half_width

  @property
  def high(self) -> float:
    return self.mean + self.half_width


def seed_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
  """Mean and Student-t confidence half-width of the mean of per-seed values."""
  if not 0 < confidence < 1:
    raise ValueError(f"confidence must be in (0, 1), got {confidence}")
  x = np.asarray(values, dtype=np.float64).ravel()
  if x.size == 0:
    return Interval(math.nan, math.nan, 0)
  if x.size == 1:
    return Interval(float(x[0]), math.nan, 1)
  from scipy import stats  # a dependency of scikit-learn; imported here because it is slow to import

  quantile = stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)
  return Interval(float(x.mean()), float(quantile * x.std(ddof=1) / math.sqrt(x.size)), int(x.size))


def pareto_front(compute: Sequence[float], errors: Sequence[float]) -> np.ndarray:
  """Indices of the non-dominated points, ordered by compute (then error)."""
  c = np.asarray(compute, dtype=np.float64).ravel()
  e = np.asarray(errors, dtype=np.float64).ravel()
  if c.shape != e.shape:
    raise ValueError(f"{c.size} compute values but {e.size} errors")
  keep = []
  for i in range(c.size):
    dominated = np.any((c <= c[i]) & (e <= e[i]) & ((c < c[i]) | (e < e[i])))
    if not dominated:
      keep.append(i)
  return np.asarray(sorted(keep, key=lambda i: (c[i], e[i])), dtype=np.int64)


def error_at_budget(compute: Sequence[float], errors: Sequence[float], budget: float) -> float:
  """The lowest error among runs whose compute is at most `budget`; nan when none fits."""
  c = np.asarray(compute, dtype=np.float64).ravel()
  e = np.asarray(errors, dtype=np.float64).ravel()
  fits = c <= budget
  return float(e[fits].min()) if fits.any() else math.nan


def log_compute_area(compute: Sequence[float], errors: Sequence[float]) -> float:
  """Mean error over log10(compute): the trapezoid area under error vs log10(compute) over its range.

  Needs at least two distinct positive compute values (nan otherwise); points at the same compute are
  averaged first.
  """
  c = np.asarray(compute, dtype=np.float64).ravel()
  e = np.asarray(errors, dtype=np.float64).ravel()
  if c.shape != e.shape:
    raise ValueError(f"{c.size} compute values but {e.size} errors")
  if np.any(c <= 0):
    raise ValueError("compute must be positive to take its logarithm")
  levels = np.unique(c)
  if levels.size < 2:
    return math.nan
  x = np.log10(levels)
  y = np.asarray([e[c == level].mean() for level in levels])
  area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
  return area / float(x[-1] - x[0])
