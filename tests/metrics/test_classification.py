"""Golden values for nevis.metrics.classification, worked by hand (and mAP checked against sklearn)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from nevis.metrics import classification as cls


def test_top1_error_counts_misses_and_breaks_ties_to_first_class():
  logits = np.array([
    [2.0, 1.0, 0.0],  # argmax 0, label 0: hit
    [0.0, 5.0, 5.0],  # tie between 1 and 2 -> 1, label 2: miss
    [0.0, 5.0, 5.0],  # same tie, label 1: hit
    [1.0, 1.0, 1.0],  # all tied -> 0, label 0: hit
  ])
  assert cls.top1_error(logits, np.array([0, 2, 1, 0])) == pytest.approx(0.25)


def test_top1_error_accepts_integral_float_labels_and_rejects_bad_ones():
  logits = np.eye(3)
  assert cls.top1_error(logits, np.array([0.0, 1.0, 0.0])) == pytest.approx(1 / 3)
  with pytest.raises(ValueError):
    cls.top1_error(logits, np.array([0, 1, 3]))
  with pytest.raises(ValueError):
    cls.top1_error(logits, np.array([0.5, 1, 2]))
  with pytest.raises(ValueError):
    cls.top1_error(logits, np.array([0, 1]))


def test_single_label_nll_by_hand():
  logits = np.array([[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]])
  nll = cls.per_example_nll(logits, np.array([0, 1, 0]), multi_label=False)
  # softmax([1, 2]) = [1, e] / (1 + e).
  expected = [math.log(2.0), math.log(1 + math.exp(-1.0)), math.log(1 + math.e)]
  np.testing.assert_allclose(nll, expected, rtol=1e-12)
  assert cls.mean_log_loss(logits, np.array([0, 1, 0]), multi_label=False) == pytest.approx(
    sum(expected) / 3, rel=1e-12)


def test_single_label_nll_of_given_probabilities_is_minus_log_probability():
  probs = np.array([[0.5, 0.25, 0.125, 0.125]])
  for label, bits in enumerate([1, 2, 3, 3]):
    nll = cls.per_example_nll(np.log(probs), np.array([label]), multi_label=False)
    assert nll[0] == pytest.approx(bits * math.log(2.0), rel=1e-12)


def test_single_label_nll_is_stable_for_huge_logits():
  logits = np.array([[1000.0, 0.0], [1000.0, 0.0]], dtype=np.float32)
  nll = cls.per_example_nll(logits, np.array([0, 1]), multi_label=False)
  np.testing.assert_allclose(nll, [0.0, 1000.0], atol=1e-9)


def test_multi_label_nll_sums_binary_cross_entropy_over_classes():
  logits = np.array([[0.0, 2.0, -1.0]])
  targets = np.array([[1, 0, 1]])
  # -log s(0) = ln 2; -log(1 - s(2)) = ln(1 + e^2); -log s(-1) = ln(1 + e).
  expected = math.log(2.0) + math.log(1 + math.exp(2.0)) + math.log(1 + math.e)
  nll = cls.per_example_nll(logits, targets, multi_label=True)
  assert nll.shape == (1,)
  assert nll[0] == pytest.approx(expected, rel=1e-12)
  assert cls.mean_log_loss(logits, targets, multi_label=True) == pytest.approx(expected, rel=1e-12)


def test_multi_label_nll_is_stable_for_huge_logits():
  logits = np.array([[800.0, -800.0], [800.0, -800.0]])
  nll = cls.per_example_nll(logits, np.array([[1, 0], [0, 1]]), multi_label=True)
  np.testing.assert_allclose(nll, [0.0, 1600.0], atol=1e-9)


def test_multi_label_nll_rejects_non_binary_targets():
  with pytest.raises(ValueError):
    cls.per_example_nll(np.zeros((1, 2)), np.array([[0.5, 1.0]]), multi_label=True)
  with pytest.raises(ValueError):
    cls.per_example_nll(np.zeros((1, 2)), np.array([1]), multi_label=True)


def test_average_precision_by_hand():
  # Ranked: +, -, +, -. Thresholds give (P, R) = (1, 1/2), (1/2, 1/2), (2/3, 1), (1/2, 1).
  # AP = 1/2 * 1 + 0 * 1/2 + 1/2 * 2/3 + 0 = 5/6.
  assert cls.average_precision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]) == pytest.approx(5 / 6)


def test_average_precision_counts_tied_scores_as_one_threshold():
  # Scores 0.5 tie a positive with a negative: one threshold with P = 2/3, R = 1, whatever the order.
  # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6 (it would be 1.0 if the positive were ranked first).
  for targets in ([1, 1, 0, 0], [1, 0, 1, 0]):
    scores = [0.9, 0.5, 0.5, 0.1]
    assert cls.average_precision(scores, targets) == pytest.approx(5 / 6)
    assert average_precision_score(targets, scores) == pytest.approx(5 / 6)


def test_mean_average_precision_by_hand_skips_classes_without_positives():
  scores = np.array([[0.9, 0.1, 0.3], [0.8, 0.9, 0.2], [0.7, 0.2, 0.1], [0.6, 0.4, 0.0]])
  targets = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
  # Class 0: 5/6 (as above). Class 1: ranked +, +, -, -: AP 1. Class 2: no positive, skipped.
  assert cls.mean_average_precision(scores, targets) == pytest.approx((5 / 6 + 1.0) / 2)
  assert cls.task_error(scores, targets, multi_label=True) == pytest.approx(1 - (5 / 6 + 1.0) / 2)


def test_mean_average_precision_is_nan_without_any_positive():
  assert math.isnan(cls.mean_average_precision(np.zeros((3, 2)), np.zeros((3, 2), dtype=int)))


@pytest.mark.parametrize("seed", range(5))
def test_mean_average_precision_matches_sklearn_on_random_data(seed):
  rng = np.random.default_rng(seed)
  num_examples, num_classes = 40, 6
  targets = (rng.random((num_examples, num_classes)) < 0.3).astype(int)
  targets[0] = 1  # every class has a positive, where sklearn and we agree
  # Coarse scores so that many ties occur.
  scores = np.round(rng.normal(size=(num_examples, num_classes)) + targets, 1)
  expected = average_precision_score(targets, scores, average="macro")
  assert cls.mean_average_precision(scores, targets) == pytest.approx(expected, rel=1e-12)


def test_mean_average_precision_is_the_same_for_logits_and_probabilities():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(30, 4))
  targets = (rng.random((30, 4)) < 0.5).astype(int)
  targets[0] = 1
  probs = 1 / (1 + np.exp(-logits))
  assert cls.mean_average_precision(logits, targets) == pytest.approx(
    cls.mean_average_precision(probs, targets), rel=1e-12)


def test_task_error_single_label_is_top1_error():
  logits = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
  assert cls.task_error(logits, np.array([1, 1, 1]), multi_label=False) == pytest.approx(1 / 3)


def test_empty_evaluation_set_gives_nan():
  empty = np.zeros((0, 3))
  assert math.isnan(cls.top1_error(empty, np.zeros(0, dtype=int)))
  assert math.isnan(cls.mean_log_loss(empty, np.zeros(0, dtype=int), multi_label=False))
  assert cls.per_example_nll(empty, np.zeros((0, 3)), multi_label=True).shape == (0,)


def test_nan_logits_are_rejected():
  with pytest.raises(ValueError):
    cls.top1_error(np.array([[np.nan, 0.0]]), np.array([0]))
