"""Golden values for nevis.metrics.summary."""
from __future__ import annotations

import math

import pytest

from nevis.metrics.summary import stream_summary


def test_mean_is_unweighted_and_weighted_uses_example_counts():
  summary = stream_summary([0.1, 0.5, 0.3], [100, 10, 90])
  assert summary["num_tasks"] == 3
  assert summary["mean_error"] == pytest.approx(0.3)
  # (0.1 * 100 + 0.5 * 10 + 0.3 * 90) / 200 = 42 / 200.
  assert summary["weighted_error"] == pytest.approx(0.21)


def test_empty_stream():
  summary = stream_summary([], [])
  assert summary["num_tasks"] == 0
  assert math.isnan(summary["mean_error"]) and math.isnan(summary["weighted_error"])


def test_zero_examples_make_the_weighted_error_nan():
  summary = stream_summary([0.2], [0])
  assert summary["mean_error"] == pytest.approx(0.2)
  assert math.isnan(summary["weighted_error"])


@pytest.mark.parametrize("counts", [[1], [10, -1], [10, 2.5]])
def test_bad_counts_are_rejected(counts):
  with pytest.raises(ValueError):
    stream_summary([0.1, 0.2], counts)
