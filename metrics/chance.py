"""Chance level: the error of a learner that knows nothing about a task but its number of classes.

Single-label: a uniformly random guess is right with probability 1/K whatever the labels' frequencies, so
the expected top-1 error is 1 - 1/K (a majority-class guess can do better on an unbalanced task; that
needs the label counts, which the results do not keep). Multi-label: 1 - mAP of random scores is about
1 - the mean positive rate per class, which needs the labels: nan.
"""
from __future__ import annotations

import math


def chance_error(num_classes: int, *, multi_label: bool = False) -> float:
  """Expected error of a uniformly random prediction on a task with `num_classes` classes."""
  if num_classes < 1:
    raise ValueError(f"num_classes must be >= 1, got {num_classes}")
  return math.nan if multi_label else 1.0 - 1.0 / num_classes
