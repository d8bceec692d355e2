"""Golden values for nevis.metrics.forgetting, worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nevis.metrics import forgetting as fg

NAN = np.nan

# E[i, j]: error on task j after training task i.
ERRORS = np.array([
  [0.5, NAN, NAN],
  [0.3, 0.1, NAN],
  [0.35, 0.15, 0.05],
])


def test_forgetting_measures_against_the_best_earlier_model():
  # Task 0: best earlier error is 0.3 (after task 1, not on the diagonal): 0.35 - 0.3 = 0.05.
  # Task 1: 0.15 - 0.1 = 0.05. Task 2 is the last task: nan.
  result = fg.forgetting(ERRORS)
  np.testing.assert_allclose(result[:2], [0.05, 0.05])
  assert math.isnan(result[2])
  assert fg.average_forgetting(ERRORS) == pytest.approx(0.05)


def test_backward_transfer_compares_with_the_diagonal():
  # Task 0: 0.5 - 0.35 = 0.15 (improved); task 1: 0.1 - 0.15 = -0.05 (got worse). Mean 0.05.
  assert fg.backward_transfer(ERRORS) == pytest.approx(0.05)


def test_final_model_better_than_all_earlier_gives_negative_forgetting():
  errors = np.array([[0.4, NAN], [0.1, 0.2]])
  np.testing.assert_allclose(fg.forgetting(errors)[:1], [-0.3])
  assert fg.backward_transfer(errors) == pytest.approx(0.3)


def test_partially_filled_matrix_uses_the_last_filled_row():
  partial = np.full((5, 5), NAN)
  partial[:3, :3] = ERRORS
  assert fg.last_filled_row(partial) == 2
  result = fg.forgetting(partial)
  assert result.shape == (5,)
  np.testing.assert_allclose(result[:2], [0.05, 0.05])
  assert np.isnan(result[2:]).all()
  assert fg.average_forgetting(partial) == pytest.approx(0.05)
  assert fg.backward_transfer(partial) == pytest.approx(0.05)


def test_entries_above_the_diagonal_are_ignored():
  with_future = ERRORS.copy()
  with_future[0, 1:] = [0.9, 0.9]
  with_future[1, 2] = 0.9
  np.testing.assert_array_equal(fg.forgetting(with_future), fg.forgetting(ERRORS))
  assert fg.backward_transfer(with_future) == pytest.approx(0.05)


def test_missing_measurements_are_left_out_of_the_means():
  errors = np.array([
    [0.5, NAN, NAN],
    [NAN, 0.1, NAN],
    [NAN, 0.15, 0.05],  # task 0 not re-measured at the end
  ])
  result = fg.forgetting(errors)
  assert math.isnan(result[0])
  assert result[1] == pytest.approx(0.05)
  assert fg.average_forgetting(errors) == pytest.approx(0.05)
  assert fg.backward_transfer(errors) == pytest.approx(-0.05)


def test_one_task_or_nothing_measured_gives_nan():
  for errors in (np.array([[0.2]]), np.full((3, 3), NAN)):
    assert np.isnan(fg.forgetting(errors)).all()
    assert math.isnan(fg.average_forgetting(errors))
    assert math.isnan(fg.backward_transfer(errors))
  assert fg.last_filled_row(np.full((3, 3), NAN)) == -1


def test_non_square_matrix_is_rejected():
  with pytest.raises(ValueError):
    fg.forgetting(np.zeros((2, 3)))
