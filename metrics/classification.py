"""Per-task classification metrics in pure NumPy: error, log-loss (nats) and mean average precision.

Conventions (the NEVIS'22 ones, see dm_nevis `classification_metrics.py` and
`multi_label_classification_metrics.py`):
- single-label: `logits` is (N, K), `labels` is (N,) integer class ids; the task error is top-1 error.
- multi-label: `logits` is (N, K) with one independent sigmoid per class, `labels` is (N, K) in {0, 1};
  the task error is 1 - mAP (macro mean average precision over classes).
All computations run in float64 whatever the input dtype. An empty evaluation set (N == 0) gives nan.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _as_logits(logits: npt.ArrayLike) -> np.ndarray:
  logits = np.asarray(logits, dtype=np.float64)
  if logits.ndim != 2:
    raise ValueError(f"logits must be (N, K); got shape {logits.shape}")
  if logits.shape[0] and np.isnan(logits).any():
    raise ValueError("logits contain NaN")
  return logits


def _as_class_ids(labels: npt.ArrayLike, num_examples: int, num_classes: int) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.shape != (num_examples,):
    raise ValueError(f"labels must be ({num_examples},) class ids; got shape {labels.shape}")
  if num_examples == 0:
    return labels.astype(np.int64)
  if not np.issubdtype(labels.dtype, np.integer):
    as_int = labels.astype(np.int64)
    if not np.array_equal(as_int, labels):
      raise ValueError("labels must be integer class ids")
    labels = as_int
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f"labels must lie in [0, {num_classes}); got [{labels.min()}, {labels.max()}]")
  return labels.astype(np.int64)


def _as_binary_targets(targets: npt.ArrayLike, shape: tuple[int, int]) -> np.ndarray:
  targets = np.asarray(targets)
  if targets.shape != shape:
    raise ValueError(f"multi-label targets must have shape {shape}; got {targets.shape}")
  if not np.isin(targets, (0, 1)).all():
    raise ValueError("multi-label targets must be 0 or 1")
  return targets.astype(np.float64)


def log_softmax(logits: npt.ArrayLike) -> np.ndarray:
  """Row-wise log-softmax, shifted by the row max so large logits do not overflow."""
  logits = np.asarray(logits, dtype=np.float64)
  shifted = logits - logits.max(axis=-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def top1_error(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
  """Fraction of examples whose argmax is not the label; a tie goes to the first maximal class."""
  logits = _as_logits(logits)
  labels = _as_class_ids(labels, *logits.shape)
  if logits.shape[0] == 0:
    return float("nan")
  return float(np.mean(np.argmax(logits, axis=1) != labels))


def per_example_nll(logits: npt.ArrayLike, labels: npt.ArrayLike, *, multi_label: bool) -> np.ndarray:
  """(N,) negative log-likelihood of each example's labels, in nats.

  Single-label: -log_softmax(logits)[label]. Multi-label: the SUM over the K classes of the sigmoid
  binary cross-entropy, i.e. -log p(label vector) when the classes are independent Bernoullis. Summing
  (not averaging) over classes keeps it a code length, comparable with the uniform code K * ln 2.
  """
  logits = _as_logits(logits)
  num_examples, num_classes = logits.shape
  if multi_label:
    targets = _as_binary_targets(labels, logits.shape)
    # -[y log s(z) + (1 - y) log(1 - s(z))] == log(1 + e^z) - y z, stable through logaddexp.
    return (np.logaddexp(0.0, logits) - targets * logits).sum(axis=1)
  class_ids = _as_class_ids(labels, num_examples, num_classes)
  return -log_softmax(logits)[np.arange(num_examples), class_ids]


def mean_log_loss(logits: npt.ArrayLike, labels: npt.ArrayLike, *, multi_label: bool) -> float:
  """Mean over examples of `per_example_nll`, in nats (multi-label: summed over classes per example)."""
  nll = per_example_nll(logits, labels, multi_label=multi_label)
  return float(nll.mean()) if nll.size else float("nan")


def average_precision(scores: npt.ArrayLike, targets: npt.ArrayLike) -> float:
  """Average precision of one binary label, as sklearn's `average_precision_score`.

  AP = sum_k (R_k - R_{k-1}) P_k over the distinct score thresholds taken in decreasing order, with
  R_0 = 0. Tied scores form one threshold, so their order does not matter. nan without positives.
  """
  scores = np.asarray(scores, dtype=np.float64).ravel()
  targets = np.asarray(targets, dtype=np.float64).ravel()
  num_positives = targets.sum()
  if num_positives == 0:
    return float("nan")
  order = np.argsort(-scores, kind="stable")
  sorted_scores, sorted_targets = scores[order], targets[order]
  # The last position of each run of equal scores is where that threshold's counts are read.
  threshold_ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
  true_positives = np.cumsum(sorted_targets)[threshold_ends]
  predicted_positives = threshold_ends + 1.0
  precision = true_positives / predicted_positives
  recall = true_positives / num_positives
  recall_gain = np.diff(recall, prepend=0.0)
  return float(np.sum(recall_gain * precision))


def mean_average_precision(logits_or_scores: npt.ArrayLike, targets: npt.ArrayLike) -> float:
  """Macro mean over classes of `average_precision`.

  Any monotone score works (logits or probabilities give the same AP; logits avoid the ties a saturated
  sigmoid would create). Classes without a positive example are skipped, because their AP is undefined;
  sklearn would count them as 0 instead. nan if no class has a positive.
  """
  scores = _as_logits(logits_or_scores)
  targets = _as_binary_targets(targets, scores.shape)
  per_class = [
    average_precision(scores[:, k], targets[:, k]) for k in range(scores.shape[1]) if targets[:, k].any()
  ]
  return float(np.mean(per_class)) if per_class else float("nan")


def task_error(logits: npt.ArrayLike, labels: npt.ArrayLike, *, multi_label: bool) -> float:
  """The NEVIS task error: top-1 error for single-label tasks, 1 - mAP for multi-label tasks."""
  if multi_label:
    return 1.0 - mean_average_precision(logits, labels)
  return top1_error(logits, labels)
