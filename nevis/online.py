"""Online prequential code length: what the learner reports from inside training (see OnlineRecorder)."""
from __future__ import annotations

from typing import Any

import numpy as np

from nevis.metrics import classification


class OnlineRecorder:
  """Online prequential code: each training example is scored by the learner before it trains on it.

  The learner calls `record(batch, logits, trial=i)` with logits computed before the update on that
  batch; labels come from the harness's own copy. Only an example's first appearance in a trial
  counts. The code length is that of the best trial (choosing among H trials costs log H more nats,
  which is ignored and documented).
  """

  def __init__(self, labels: np.ndarray, num_classes: int, multi_label: bool):
    self._labels = np.asarray(labels)
    self._multi = multi_label
    self._n = len(labels)
    self._seen: dict[Any, np.ndarray] = {}
    self._nats: dict[Any, float] = {}

  def record(self, batch: dict, logits, trial: Any = 0) -> None:
    index = np.asarray(batch["index"])
    trial = str(trial)  # checkpoints keep keys as strings
    seen = self._seen.setdefault(trial, np.zeros(self._n, bool))
    fresh = ~seen[index]
    # An index repeated within one batch counts once.
    _, first = np.unique(index, return_index=True)
    keep = np.zeros(len(index), bool)
    keep[first] = True
    keep &= fresh
    if not keep.any():
      return
    logits = np.asarray(logits)[keep]
    nll = classification.per_example_nll(logits, self._labels[index[keep]], multi_label=self._multi)
    seen[index[keep]] = True
    self._nats[trial] = self._nats.get(trial, 0.0) + float(np.sum(nll))

  def state_dict(self) -> dict:
    trials = sorted(self._seen, key=str)
    return {
        "trials": [str(t) for t in trials],
        "seen": [self._seen[t] for t in trials],
        "nats": [self._nats.get(t, 0.0) for t in trials],
    }

  def load_state_dict(self, saved: dict) -> None:
    self._seen = {t: np.asarray(s, bool) for t, s in zip(saved["trials"], saved["seen"])}
    self._nats = {t: float(v) for t, v in zip(saved["trials"], saved["nats"])}

  def code_length_nats(self) -> float | None:
    complete = [t for t, seen in self._seen.items() if seen.all()]
    if not complete:
      return None
    return min(self._nats[t] for t in complete)
