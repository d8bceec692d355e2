"""The fine-tuning recipe's pure pieces: batch size, steps, warm-up, search space.

Shared by the fine-tuning baselines (`finetuning.py`, `dynamic_knn.py`, `pretrained.py`) and the ICL
learner. Every function is a pure function of its arguments, so a resumed task recomputes them exactly.
"""
from __future__ import annotations

import math
import random
from typing import Any

from nevis.errors import ConfigError
from nevis.learners.augment import FLIP_POLICIES
from nevis.learners.resnet import STEMS
from nevis.learners.selection import SELECT_BY

BATCH_FRACTION = 0.0025  # dm_nevis BatchSizeStrategy.ADAPTIVE
SEARCHES = ("grid", "random")
TRIAL_SCORES = ("best", "final")  # a trial's score: its best dev check, or its last (dm_nevis)


def adaptive_batch_size(num_examples: int, min_batch: int, max_batch: int) -> int:
  """dm_nevis's adaptive batch size: min(max_batch, max(min_batch, 2**int(log2(0.0025 * N))))."""
  scaled = BATCH_FRACTION * num_examples
  power = 2 ** int(math.log2(scaled)) if scaled >= 1 else 1
  return int(min(max_batch, max(min_batch, power)))


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """dm_nevis's count, N // batch + 1 (one more than the whole batches in an epoch)."""
  return num_examples // batch_size + 1


def task_steps(config: dict[str, Any], num_examples: int, batch_size: int) -> int:
  """Steps per trial: `num_steps`, or with `num_epochs` > 0 that many epochs but at least `min_steps`,
  capped by `num_steps`.

  Epochs rather than a fixed count spend a CPU budget where the examples are: a fixed count trains a
  117-image task for as many steps as a 2,800-image one. The floor keeps tiny tasks from stopping after
  a few dozen steps, where the start (fresh or transferred) still shows. dm_nevis trains a fixed
  `max_steps` (50k) on every task."""
  epochs = float(config.get("num_epochs", 0.0))
  if epochs <= 0:
    return int(config["num_steps"])
  steps = max(math.ceil(epochs * num_examples / batch_size), int(config.get("min_steps", 0)), 1)
  return int(min(config["num_steps"], steps))


def warmup_steps(config: dict[str, Any], num_examples: int, batch_size: int, num_steps: int) -> int:
  """Linear warm-up length: dm_nevis's min(num_steps - 1, warmup_epochs * steps_per_epoch) when
  `warmup_epochs` > 0 (7 in dm_nevis), else round(warmup_fraction * num_steps)."""
  epochs = float(config.get("warmup_epochs", 0.0))
  if epochs > 0:
    return int(max(0, min(num_steps - 1, int(epochs * steps_per_epoch(num_examples, batch_size)))))
  return round(config["warmup_fraction"] * num_steps)


def search_candidates(config: dict[str, Any], task_index: int) -> list[dict[str, float]]:
  """The trials of one task, each {learning_rate, label_smoothing}.

  `search: grid`: one trial per entry of `learning_rates`, all with `label_smoothing`.
  `search: random`: dm_nevis's `finetuning_dknn` space — `num_trials` learning rates log-uniform in
  `learning_rate_range`, zipped with label smoothings uniform in `label_smoothing_range`, drawn with
  Python's `random.Random(task_index + 1)` and `random.Random(task_index + 2)` as dm_nevis's `hype`
  does, so the same task index gives dm_nevis's own trials (and a resumed task the same ones).
  """
  if config.get("search", "grid") == "grid":
    smoothing = float(config["label_smoothing"])
    return [{"learning_rate": float(lr), "label_smoothing": smoothing} for lr in config["learning_rates"]]
  n = int(config["num_trials"])
  low, high = (math.log(float(v)) for v in config["learning_rate_range"])
  lr_draws = random.Random(task_index + 1)
  smoothing_low, smoothing_high = (float(v) for v in config["label_smoothing_range"])
  smoothing_draws = random.Random(task_index + 2)
  rates = [math.exp(lr_draws.uniform(low, high)) for _ in range(n)]
  smoothings = [smoothing_draws.uniform(smoothing_low, smoothing_high) for _ in range(n)]
  return [{"learning_rate": lr, "label_smoothing": ls} for lr, ls in zip(rates, smoothings)]


def validate(owner: str, config: dict[str, Any]) -> None:
  """Checks a fine-tuning learner's config; ConfigError names the key and the fix."""
  def fail(key: str, why: str):
    raise ConfigError(f"{owner}.{key} {why}; got {config[key]!r}")

  def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

  if not config["learning_rates"] or not all(is_number(lr) and lr >= 0 for lr in config["learning_rates"]):
    fail("learning_rates", "must be a non-empty list of numbers >= 0")
  for key, low in (("learning_rate_range", 0.0), ("label_smoothing_range", None)):
    pair = config[key]
    if len(pair) != 2 or not all(is_number(v) for v in pair) or pair[0] > pair[1] or \
        (low is not None and pair[0] <= low):
      fail(key, "must be [low, high] with low <= high" + (" and low > 0" if low is not None else ""))
  if not 0 <= config["label_smoothing_range"][0] <= config["label_smoothing_range"][1] < 1:
    fail("label_smoothing_range", "must lie in [0, 1)")
  blocks = config["blocks_per_stage"]
  if not blocks or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in blocks):
    fail("blocks_per_stage", "must be a non-empty list of integers >= 1")
  for key in ("width", "num_steps", "min_batch", "max_batch", "eval_batch_size", "head_min_outputs", "num_trials"):
    if config[key] < 1:
      fail(key, "must be >= 1")
  for key in ("num_epochs", "min_steps", "warmup_epochs", "eval_every_steps", "weight_decay"):
    if config[key] < 0:
      fail(key, "must be >= 0")
  if config["min_batch"] > config["max_batch"]:
    fail("min_batch", f"must be <= max_batch ({config['max_batch']})")
  choices = {"stem": STEMS, "search": SEARCHES, "trial_score": TRIAL_SCORES,
             "flip": FLIP_POLICIES, "select_by": SELECT_BY}
  for key, allowed in choices.items():
    if config[key] not in allowed:
      fail(key, f"must be one of {allowed}")
  reduction = 2 ** (len(blocks) - 1) * (4 if config["stem"] == "imagenet" else 1)
  if config["image_size"] < reduction:
    fail("image_size", f"must be >= {reduction} for {len(blocks)} stages and the {config['stem']} stem")
  if not 0 <= config["warmup_fraction"] < 1:
    fail("warmup_fraction", "must be in [0, 1)")
  if not 0 <= config["label_smoothing"] < 1:
    fail("label_smoothing", "must be in [0, 1)")
  if not 0 < config["min_crop_area"] <= 1:
    fail("min_crop_area", "must be in (0, 1]")
  if config["seed"] < 0:
    fail("seed", "must be >= 0")
  if config["prequential_first_chunk"] < 1:
    fail("prequential_first_chunk", "must be >= 1")
  if not 0 <= config["momentum"] < 1:
    fail("momentum", "must be in [0, 1)")
