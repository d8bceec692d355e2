"""Golden values for the trade-off metrics, computed by hand."""
import math

import numpy as np
import pytest

from nevis.metrics.tradeoff import error_at_budget, log_compute_area, pareto_front, seed_interval


def test_seed_interval_is_the_student_t_interval_of_the_mean():
  # values 0.1, 0.2, 0.3: mean 0.2, sample sd 0.1, t(0.975, df=2) = 4.302653 -> half = 4.302653 * 0.1 / sqrt(3)
  interval = seed_interval([0.1, 0.2, 0.3])
  assert interval.mean == pytest.approx(0.2)
  assert interval.half_width == pytest.approx(0.2484138, abs=1e-6)
  assert (interval.low, interval.high, interval.count) == pytest.approx((0.2 - 0.2484138, 0.2 + 0.2484138, 3))
  # two values 1 and 3: sd sqrt(2), t(0.95, df=1) = 6.313752 at 90 %: half = 6.313752 * sqrt(2) / sqrt(2)
  assert seed_interval([1, 3], confidence=0.9).half_width == pytest.approx(6.313752, abs=1e-5)


def test_seed_interval_with_one_or_no_value_has_no_width():
  one = seed_interval([0.25])
  assert one.mean == 0.25 and math.isnan(one.half_width) and one.count == 1
  assert math.isnan(seed_interval([]).mean)
  assert seed_interval([0.5, 0.5, 0.5]).half_width == 0.0
  with pytest.raises(ValueError, match="confidence"):
    seed_interval([1, 2], confidence=1.0)


def test_pareto_front_keeps_the_non_dominated_points_in_compute_order():
  compute = [10, 1, 5, 5, 20, 1]
  errors = [0.2, 0.5, 0.3, 0.4, 0.2, 0.6]
  # (1, .5) beats (1, .6); (5, .3) beats (5, .4); (10, .2) beats (20, .2)
  assert pareto_front(compute, errors).tolist() == [1, 2, 0]
  assert pareto_front([1, 1], [0.3, 0.3]).tolist() == [0, 1]  # ties are both kept
  with pytest.raises(ValueError):
    pareto_front([1, 2], [0.1])


def test_error_at_budget_is_the_best_run_that_fits():
  compute, errors = [1e9, 1e10, 1e11], [0.5, 0.3, 0.35]
  assert math.isnan(error_at_budget(compute, errors, 1e8))
  assert error_at_budget(compute, errors, 1e9) == 0.5
  assert error_at_budget(compute, errors, 5e10) == 0.3
  assert error_at_budget(compute, errors, 1e12) == 0.3  # more budget never hurts


def test_log_compute_area_is_the_mean_error_over_log_compute():
  # points at log10 = 9, 10, 12 with errors .5, .3, .1: trapezoids 1 * .4 + 2 * .2 = .8 over a range of 3
  assert log_compute_area([1e9, 1e10, 1e12], [0.5, 0.3, 0.1]) == pytest.approx(0.8 / 3)
  # unordered input and repeated compute (averaged: .2 and .4 -> .3) give the same
  assert log_compute_area([1e12, 1e10, 1e9, 1e10], [0.1, 0.2, 0.5, 0.4]) == pytest.approx(0.8 / 3)
  assert math.isnan(log_compute_area([1e9, 1e9], [0.1, 0.2]))
  assert log_compute_area([1, 10], [0.4, 0.4]) == pytest.approx(0.4)  # a flat curve's mean is its value
  with pytest.raises(ValueError, match="positive"):
    log_compute_area([0, 10], [0.1, 0.2])
  assert np.isfinite(log_compute_area([1, 100], [1.0, 0.0]))
