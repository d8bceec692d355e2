"""Golden values for nevis.metrics.prequential, worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nevis.metrics import prequential as preq
from nevis.metrics.classification import per_example_nll

LN2 = math.log(2.0)


@pytest.mark.parametrize("n, expected", [
  (0, []),
  (1, [1]),
  (5, [5]),
  (10, [10]),
  (11, [10, 11]),
  (20, [10, 20]),
  (85, [10, 20, 40, 80, 85]),
  (100, [10, 20, 40, 80, 100]),
])
def test_chunk_boundaries_default_schedule(n, expected):
  assert preq.chunk_boundaries(n) == expected


def test_chunk_boundaries_other_settings():
  assert preq.chunk_boundaries(8, first_chunk=1) == [1, 2, 4, 8]
  # 10, 15, 22.5 -> 23, 34.5 -> 35, then capped at 40.
  assert preq.chunk_boundaries(40, ratio=1.5) == [10, 15, 23, 35, 40]
  # A ratio close to 1 still moves on by at least one example.
  assert preq.chunk_boundaries(4, first_chunk=1, ratio=1.01) == [1, 2, 3, 4]


def test_chunk_boundaries_are_strictly_increasing_and_end_at_n():
  for n in range(1, 300):
    boundaries = preq.chunk_boundaries(n, first_chunk=3, ratio=1.7)
    assert boundaries[-1] == n
    assert all(a < b for a, b in zip(boundaries, boundaries[1:]))


@pytest.mark.parametrize("kwargs", [dict(n=-1), dict(n=2.5), dict(n=5, first_chunk=0), dict(n=5, ratio=1.0)])
def test_chunk_boundaries_reject_bad_arguments(kwargs):
  with pytest.raises(ValueError):
    preq.chunk_boundaries(**kwargs)


def test_later_chunks():
  assert preq.later_chunks([10, 20, 40]) == [(10, 20), (20, 40)]
  assert preq.later_chunks([5]) == []


def test_uniform_nats_per_example():
  assert preq.uniform_nats_per_example(10) == pytest.approx(math.log(10))
  assert preq.uniform_nats_per_example(10, multi_label=True) == pytest.approx(10 * LN2)
  assert preq.uniform_nats_per_example(1) == 0.0
  with pytest.raises(ValueError):
    preq.uniform_nats_per_example(0)


def test_uniform_learner_costs_exactly_the_uniform_code():
  n, num_classes = 100, 10
  boundaries = preq.chunk_boundaries(n)
  logits = np.zeros((n, num_classes))
  labels = np.arange(n) % num_classes
  later = [
    per_example_nll(logits[start:end], labels[start:end], multi_label=False)
    for start, end in preq.later_chunks(boundaries)
  ]
  length = preq.blockwise_code_length(num_classes, boundaries[0], later)
  result = preq.report(length, n, num_classes)
  assert result["preq_bits"] == pytest.approx(n * math.log2(num_classes), rel=1e-12)
  assert result["uniform_bits"] == pytest.approx(n * math.log2(num_classes), rel=1e-12)
  assert result["preq_ratio"] == pytest.approx(1.0, rel=1e-12)


def test_uniform_multi_label_learner_costs_one_bit_per_label():
  n, num_classes = 12, 3
  targets = (np.arange(n * num_classes).reshape(n, num_classes) % 2)
  nll = per_example_nll(np.zeros((n, num_classes)), targets, multi_label=True)
  length = preq.blockwise_code_length(num_classes, 4, nll[4:], multi_label=True)
  result = preq.report(length, n, num_classes, multi_label=True)
  assert result["preq_bits"] == pytest.approx(n * num_classes, rel=1e-12)
  assert result["preq_ratio"] == pytest.approx(1.0, rel=1e-12)


def test_perfect_predictor_costs_only_the_first_chunk():
  n, num_classes = 100, 10
  first_chunk = preq.chunk_boundaries(n)[0]
  length = preq.blockwise_code_length(num_classes, first_chunk, np.zeros(n - first_chunk))
  result = preq.report(length, n, num_classes)
  assert result["preq_bits"] == pytest.approx(first_chunk * math.log2(num_classes), rel=1e-12)
  assert result["preq_ratio"] == pytest.approx(0.1, rel=1e-12)


def test_hand_worked_example():
  # K = 4, n = 6, first chunk 2 labels sent uniformly: 2 * 2 = 4 bits.
  # The later 4 labels get probabilities 1/2, 1/4, 1, 1/8: 1 + 2 + 0 + 3 = 6 bits. Total 10 bits.
  probs = np.array([
    [1 / 2, 1 / 6, 1 / 6, 1 / 6],
    [1 / 4, 1 / 4, 1 / 4, 1 / 4],
    [1.0, 0.0, 0.0, 0.0],
    [1 / 8, 1 / 8, 1 / 4, 1 / 2],
  ])
  with np.errstate(divide="ignore"):
    logits = np.log(probs)
  nll = per_example_nll(logits, np.array([0, 3, 0, 1]), multi_label=False)
  chunks = [nll[:1], nll[1:]]  # ragged chunks (t = 2, 3, 6) as the harness would pass them
  length = preq.blockwise_code_length(4, 2, chunks)
  assert length == pytest.approx(10 * LN2, rel=1e-12)
  result = preq.report(length, 6, 4)
  assert result["preq_nats"] == pytest.approx(10 * LN2, rel=1e-12)
  assert result["preq_bits"] == pytest.approx(10.0, rel=1e-12)
  assert result["preq_bits_per_example"] == pytest.approx(10 / 6, rel=1e-12)
  assert result["preq_nats_per_example"] == pytest.approx(10 * LN2 / 6, rel=1e-12)
  assert result["uniform_bits"] == pytest.approx(12.0, rel=1e-12)
  assert result["preq_ratio"] == pytest.approx(10 / 12, rel=1e-12)


def test_online_code_length_sums_every_example():
  assert preq.online_code_length([LN2, 2 * LN2, 0.0]) == pytest.approx(3 * LN2)
  assert preq.online_code_length([np.array([LN2]), np.array([2 * LN2, 0.0])]) == pytest.approx(3 * LN2)
  assert preq.online_code_length(np.zeros(0)) == 0.0


def test_nll_input_forms_agree():
  flat = np.array([0.1, 0.2, 0.3])
  expected = 5 * math.log(3) + 0.6
  assert preq.blockwise_code_length(3, 5, flat) == pytest.approx(expected)
  assert preq.blockwise_code_length(3, 5, [flat[:1], flat[1:]]) == pytest.approx(expected)
  assert preq.blockwise_code_length(3, 5, list(flat)) == pytest.approx(expected)
  assert preq.blockwise_code_length(3, 5, []) == pytest.approx(5 * math.log(3))


def test_log_probabilities_instead_of_nll_are_rejected():
  with pytest.raises(ValueError):
    preq.online_code_length(np.array([-0.5, -1.0]))
  with pytest.raises(ValueError):
    preq.blockwise_code_length(3, 5, np.array([0.1, np.nan]))


def test_report_with_no_examples_or_one_class():
  empty = preq.report(0.0, 0, 10)
  assert math.isnan(empty["preq_bits_per_example"]) and math.isnan(empty["preq_ratio"])
  assert empty["uniform_bits"] == 0.0
  assert math.isnan(preq.report(0.0, 5, 1)["preq_ratio"])
