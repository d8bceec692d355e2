"""Per-class caps on a split (the low-data regime): `max_train_per_class`, `max_dev_per_class`."""
from __future__ import annotations

import numpy as np

from nevis.config import RunConfig
from nevis.protocol import DataView
from nevis.task import Task


def learner_views(task: Task, config: RunConfig) -> tuple[DataView, DataView]:
  """The task's train and dev splits as the learner sees them: capped per class when the config asks."""
  info = task.info
  train = task.load_split("train")
  if config.max_train_per_class:
    train = train.subset(cap_per_class(train.labels, config.max_train_per_class, info.multi_label, seed=config.seed))
  dev = task.load_split("dev")
  if config.max_dev_per_class:
    dev = dev.subset(cap_per_class(dev.labels, config.max_dev_per_class, info.multi_label, seed=config.seed + 1))
  return DataView(train, info.num_classes, info.multi_label), DataView(dev, info.num_classes, info.multi_label)


def cap_per_class(labels: np.ndarray, cap: int, multi_label: bool, seed: int) -> np.ndarray:
  """Indices keeping at most `cap` examples per class (multi-label: per positive label, greedily)."""
  rng = np.random.default_rng([seed, 11])
  order = rng.permutation(len(labels))
  if not multi_label:
    keep = []
    counts: dict[int, int] = {}
    for i in order:
      c = int(labels[i])
      if counts.get(c, 0) < cap:
        counts[c] = counts.get(c, 0) + 1
        keep.append(i)
    return np.sort(np.asarray(keep, dtype=np.int64))
  counts_arr = np.zeros(labels.shape[1], np.int64)
  keep = []
  for i in order:
    positives = labels[i].astype(bool)
    if positives.any() and np.any(counts_arr[positives] < cap):
      counts_arr[positives] += 1
      keep.append(i)
  return np.sort(np.asarray(keep, dtype=np.int64))
