"""Hyperparameter selection shared by the fine-tuning learners: by dev error, or by prequential code length.

A learner describes its search by two callables and a list of candidates (dicts of hyperparameters):

    fit(candidate, data: DataView) -> model        trains from the task's starting point on `data`
    logits(model, data: DataView) -> (N, K)        class logits (softmax, or sigmoid if multi-label)

`select_by: dev`: every candidate is fitted on train and scored on dev (error, ties: log-loss); the
winner's fit is kept. A task without dev data fits only the first candidate. This search can be resumed:
`on_candidate` is told the `DevProgress` after each candidate (what a learner puts in its in-task
checkpoint), and `resume=` that progress skips the candidates it holds.

`select_by: prequential` (Blier & Ollivier 2018; Bornschein et al. 2025 use it for the same purpose):
train and dev are pooled, put in a fixed random order and cut at `chunk_boundaries(n)`. For each
candidate the first chunk costs the uniform code and every later chunk the summed nll under the candidate
fitted on all earlier chunks. The candidate with the shortest code wins and is refitted on all pooled
data; no example is held out. Chance ties go to the earlier candidate.

Every fit and every scoring runs through the learner's callables, hence through `task.jit`: all
candidates' compute is charged. `task.notes["selection"]` records the candidates, their scores and the
winner.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nevis.errors import ConfigError
from nevis.metrics import prequential
from nevis.metrics.classification import mean_log_loss, per_example_nll, task_error
from nevis.options import Options, option
from nevis.protocol import DataView, TrainingTask
from nevis.task import SplitData

SELECT_BY = ("dev", "prequential")
_ORDER_STREAM = 7  # the pooled data's order is drawn from (seed, this)

LEARNING_RATES_DOC = "peak learning rates, one candidate each"


@dataclasses.dataclass(frozen=True)
class SearchConfig(Options):
  """The options of a learner that searches with `select`; learners extend it with their own."""

  learning_rates: tuple[float, ...] = option((0.1,), LEARNING_RATES_DOC, minimum=0)
  select_by: str = option("dev", "how the candidate is chosen: dev error, or prequential code length on train + dev",
                          choices=SELECT_BY)
  prequential_first_chunk: int = option(10, "select_by prequential: examples in the first chunk (uniform code)",
                                        minimum=1)

  def check(self):
    if not self.learning_rates:
      self.fail("learning_rates", "must hold at least one rate")


Fit = Callable[[dict, DataView], Any]
Logits = Callable[[Any, DataView], np.ndarray]


@dataclasses.dataclass
class Selection:
  """The winner's fitted model, the data it was fitted on, and what was measured."""

  model: Any
  data: DataView
  selected: int
  scores: list[float]
  notes: dict


@dataclasses.dataclass
class DevProgress:
  """A dev search so far: the scores of the first len(dev_error) candidates and the best of their fits."""

  dev_error: list[float] = dataclasses.field(default_factory=list)
  dev_log_loss: list[float] = dataclasses.field(default_factory=list)
  best: Any = None  # the fitted model of the best candidate so far; None before the first


OnCandidate = Callable[[DevProgress], None]


def check_select_by(owner: str, value: str) -> None:
  if value not in SELECT_BY:
    raise ConfigError(f"{owner}.select_by must be one of {SELECT_BY}; got {value!r}")


def select(
    task: TrainingTask,
    candidates: Sequence[dict],
    fit: Fit,
    logits: Logits,
    *,
    select_by: str,
    seed: int = 0,
    first_chunk: int = 10,
    resume: DevProgress | None = None,
    on_candidate: OnCandidate | None = None,
) -> Selection:
  """Runs the search; records it in `task.notes["selection"]` and returns the winner.

  `resume` and `on_candidate` (see `select_by_dev`) apply to `select_by: dev` only."""
  check_select_by("selection", select_by)
  if not candidates:
    raise ValueError("need at least one candidate")
  if select_by == "dev":
    result = select_by_dev(task, candidates, fit, logits, resume=resume, on_candidate=on_candidate)
  elif resume is not None:
    raise ValueError("only a dev search can be resumed")
  else:
    data = pooled(task.train, task.dev, seed)
    result = select_by_prequential(data, candidates, fit, logits, first_chunk=first_chunk)
  task.notes["selection"] = result.notes
  return result


def select_by_dev(
    task: TrainingTask,
    candidates: Sequence[dict],
    fit: Fit,
    logits: Logits,
    *,
    resume: DevProgress | None = None,
    on_candidate: OnCandidate | None = None,
) -> Selection:
  """Fits and scores the candidates after those in `resume`; `on_candidate` gets the progress after each."""
  if len(task.dev) == 0:
    candidates = candidates[:1]
  multi_label = task.info.multi_label
  resume = resume or DevProgress()
  errors, losses, best_model = list(resume.dev_error), list(resume.dev_log_loss), resume.best
  if len(errors) != len(losses) or len(errors) > len(candidates) or (errors and best_model is None):
    raise ValueError(f"cannot resume {len(candidates)} candidates from {len(errors)} scored ones")
  for index in range(len(errors), len(candidates)):
    model = fit(candidates[index], task.train)
    if len(task.dev):
      dev_logits = logits(model, task.dev)
      errors.append(float(task_error(dev_logits, task.dev.labels, multi_label=multi_label)))
      losses.append(float(mean_log_loss(dev_logits, task.dev.labels, multi_label=multi_label)))
    else:
      errors.append(float("nan"))
      losses.append(float("nan"))
    if lowest(errors, losses) == index:
      best_model = model
    if on_candidate is not None:
      on_candidate(DevProgress(list(errors), list(losses), best_model))
  selected = lowest(errors, losses)
  notes = {
      "select_by": "dev",
      "candidates": [dict(c) for c in candidates],
      "dev_error": errors,
      "dev_log_loss": losses,
      "selected": selected,
      "chosen": dict(candidates[selected]),
  }
  return Selection(best_model, task.train, selected, errors, notes)


def select_by_prequential(
    data: DataView, candidates: Sequence[dict], fit: Fit, logits: Logits, *, first_chunk: int = 10
) -> Selection:
  """`data` in the order it is to be transmitted (see `pooled`)."""
  n = len(data)
  bounds = prequential.chunk_boundaries(n, first_chunk=first_chunk)
  first = bounds[0] if bounds else 0
  code_lengths = []
  for candidate in candidates:
    chunk_nll = []
    for train_end, encode_end in prequential.later_chunks(bounds):
      model = fit(candidate, data.subset(np.arange(train_end)))
      chunk = data.subset(np.arange(train_end, encode_end))
      chunk_nll.append(per_example_nll(logits(model, chunk), chunk.labels, multi_label=data.multi_label))
    code_lengths.append(
        prequential.blockwise_code_length(data.num_classes, first, chunk_nll, multi_label=data.multi_label)
    )
  selected = int(np.argmin(code_lengths))  # first minimum: ties go to the earlier candidate
  model = fit(candidates[selected], data)
  notes = {
      "select_by": "prequential",
      "candidates": [dict(c) for c in candidates],
      "code_length_nats": code_lengths,
      "chunk_boundaries": bounds,
      "selected": selected,
      "chosen": dict(candidates[selected]),
  }
  return Selection(model, data, selected, code_lengths, notes)


def pooled(train: DataView, dev: DataView, seed: int) -> DataView:
  """Train and dev concatenated and shuffled by (seed, _ORDER_STREAM): the prequential order."""
  images = np.concatenate([np.asarray(train.images), np.asarray(dev.images)]) if len(dev) else train.images
  labels = np.concatenate([np.asarray(train.labels), np.asarray(dev.labels)]) if len(dev) else train.labels
  order = np.random.default_rng([seed, _ORDER_STREAM]).permutation(len(images))
  split = SplitData(np.asarray(images)[order], np.asarray(labels)[order])
  return DataView(split, train.num_classes, train.multi_label)


def lowest(errors: Sequence[float], losses: Sequence[float]) -> int:
  """Index of the lowest (error, log-loss); nan counts as worst, ties go to the earlier index."""
  error = np.nan_to_num(np.asarray(errors, np.float64), nan=np.inf)
  loss = np.nan_to_num(np.asarray(losses, np.float64), nan=np.inf)
  return int(np.lexsort((np.arange(len(error)), loss, error))[0])
