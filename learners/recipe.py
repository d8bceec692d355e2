"""The fine-tuning recipe: its options (`FinetuningConfig`) and its pure pieces (batch size, steps, warm-up,
search space).

Shared by the fine-tuning baselines (`finetuning.py`, `dynamic_knn.py`, `pretrained.py`). Every function is
a pure function of its arguments, so a resumed task recomputes them exactly.
"""
from __future__ import annotations

import dataclasses
import math
import random

from nevis.learners import cpu_convolutions
from nevis.learners.augment import FLIP_POLICIES
from nevis.learners.resnet import STEMS
from nevis.learners.selection import SearchConfig
from nevis.options import option

BATCH_FRACTION = 0.0025  # dm_nevis BatchSizeStrategy.ADAPTIVE
SEARCHES = ("grid", "random")
COMPUTE_DTYPES = ("float32", "bfloat16")
TRIAL_SCORES = ("best", "final")  # a trial's score: its best dev check, or its last (dm_nevis)


@dataclasses.dataclass(frozen=True)
class FinetuningConfig(SearchConfig):
  """Options of the fine-tuning learners. The defaults are the `mini` recipe (README "Recipes").

  Epochs, not a fixed step count, put the budget where the examples are; one learning rate, because the old
  {0.01, 0.1} search chose 0.1 on every task and halved the steps; no crops, because at 32 px and 4 epochs
  crops of even 50-100 % raised the error (0.051 -> 0.072); flips only where a mirror image keeps the label
  (flipped digits: 0.087).
  """

  width: int = option(16, "channels of the ResNet's first stage (doubled at every later stage)", minimum=1)
  blocks_per_stage: tuple[int, ...] = option((1, 1, 1), "residual blocks of each stage, one entry per stage",
                                             minimum=1)
  stem: str = option("cifar", "first layer: cifar (3x3 conv) or imagenet (7x7 stride 2, max-pool)", choices=STEMS)
  image_size: int = option(32, "side of the network's input in pixels (central square, resized)", minimum=1)
  compute_dtype: str = option("float32", "dtype of the backbone's convolutions and activations; bfloat16 is mixed "
                              "precision (parameters, BatchNorm statistics, head and loss stay float32)",
                              choices=COMPUTE_DTYPES)
  cpu_convolutions: str = option("auto", "kernels of the convolutions on CPU: auto (oneDNN's where the onednn extra "
                                 "is installed, else XLA's), onednn (refuse to start without it), xla; the results "
                                 "agree to rounding, the FLOPs counted are the same", choices=cpu_convolutions.MODES)
  num_steps: int = option(1000, "steps per trial; with num_epochs > 0, the most a trial takes", minimum=1)
  num_epochs: float = option(4.0, "epochs per trial, at least min_steps (0: num_steps steps)", minimum=0)
  min_steps: int = option(200, "the fewest steps of a trial when num_epochs > 0", minimum=0)
  label_smoothing: float = option(0.0, "label smoothing of the grid trials", minimum=0, below=1)
  search: str = option("grid", "trials: grid over learning_rates, or dm_nevis's random search", choices=SEARCHES)
  num_trials: int = option(16, "trials of the random search", minimum=1)
  learning_rate_range: tuple[float, ...] = option((1e-4, 0.1), "random search: [low, high], log-uniform")
  label_smoothing_range: tuple[float, ...] = option((0.0, 0.3), "random search: [low, high], uniform", minimum=0,
                                                    below=1)
  eval_every_steps: int = option(100, "dev checks every this many steps and after the last (0: the last only)",
                                 minimum=0)
  trial_score: str = option("best", "a trial's score: its best dev check, or its last (dm_nevis)",
                            choices=TRIAL_SCORES)
  min_batch: int = option(16, "smallest batch of the adaptive batch size", minimum=1)
  max_batch: int = option(64, "largest batch of the adaptive batch size", minimum=1)
  eval_batch_size: int = option(128, "batch of dev checks and embeddings", minimum=1)
  weight_decay: float = option(1e-4, "weight decay of convolution and dense kernels", minimum=0)
  momentum: float = option(0.9, "Nesterov momentum of SGD", minimum=0, below=1)
  warmup_fraction: float = option(0.1, "linear warm-up, as a fraction of a trial's steps", minimum=0, below=1)
  warmup_epochs: float = option(0.0, "linear warm-up in epochs, as dm_nevis (0: warmup_fraction)", minimum=0)
  flip: str = option("auto", "left-right flips: auto (where a mirror image keeps the label), always, never",
                     choices=FLIP_POLICIES)
  min_crop_area: float = option(1.0, "smallest random crop, as a fraction of the image (1: no crops)", maximum=1)
  head_min_outputs: int = option(16, "the head's fewest outputs (a power of two): one compilation for many tasks",
                                 minimum=1)
  keep_task_backbones: bool = option(False, "keep every task's backbone, so that past tasks use their own")
  seed: int = option(0, "seed of initialisations, batch orders and augmentations", minimum=0)
  parallel_trials: int = option(1, "dev-search trials trained at once, on threads (dm_nevis ran 16); the results "
                                   "are those of one at a time; above 1 no in-task checkpoints (a killed task "
                                   "restarts)", minimum=1)
  data_parallel: bool = option(True, "split each training batch over all devices (a `data` mesh axis); no effect "
                                     "with one device, or a batch that does not split evenly")

  def check(self):
    super().check()
    if not self.blocks_per_stage:
      self.fail("blocks_per_stage", "must have at least one stage")
    for key, positive in (("learning_rate_range", True), ("label_smoothing_range", False)):
      low_high = getattr(self, key)
      if len(low_high) != 2 or low_high[0] > low_high[1] or (positive and low_high[0] <= 0):
        self.fail(key, "must be [low, high] with low <= high" + (" and low > 0" if positive else ""))
    if self.min_batch > self.max_batch:
      self.fail("min_batch", f"must be <= max_batch ({self.max_batch})")
    reduction = 2 ** (len(self.blocks_per_stage) - 1) * (4 if self.stem == "imagenet" else 1)
    if self.image_size < reduction:
      self.fail("image_size", f"must be >= {reduction} for {len(self.blocks_per_stage)} stages and the {self.stem} "
                "stem")
    if not self.min_crop_area > 0:
      self.fail("min_crop_area", "must be in (0, 1]")


def adaptive_batch_size(num_examples: int, min_batch: int, max_batch: int) -> int:
  """dm_nevis's adaptive batch size: min(max_batch, max(min_batch, 2**int(log2(0.0025 * N))))."""
  scaled = BATCH_FRACTION * num_examples
  power = 2 ** int(math.log2(scaled)) if scaled >= 1 else 1
  return int(min(max_batch, max(min_batch, power)))


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """dm_nevis's count, N // batch + 1 (one more than the whole batches in an epoch)."""
  return num_examples // batch_size + 1


def task_steps(config: FinetuningConfig, num_examples: int, batch_size: int) -> int:
  """Steps per trial: `num_steps`, or with `num_epochs` > 0 that many epochs but at least `min_steps`,
  capped by `num_steps`.

  Epochs rather than a fixed count spend a CPU budget where the examples are: a fixed count trains a
  117-image task for as many steps as a 2,800-image one. The floor keeps tiny tasks from stopping after
  a few dozen steps, where the start (fresh or transferred) still shows. dm_nevis trains a fixed
  `max_steps` (50k) on every task."""
  epochs = float(config.num_epochs)
  if epochs <= 0:
    return int(config.num_steps)
  steps = max(math.ceil(epochs * num_examples / batch_size), int(config.min_steps), 1)
  return int(min(config.num_steps, steps))


def warmup_steps(config: FinetuningConfig, num_examples: int, batch_size: int, num_steps: int) -> int:
  """Linear warm-up length: dm_nevis's min(num_steps - 1, warmup_epochs * steps_per_epoch) when
  `warmup_epochs` > 0 (7 in dm_nevis), else round(warmup_fraction * num_steps)."""
  epochs = float(config.warmup_epochs)
  if epochs > 0:
    return int(max(0, min(num_steps - 1, int(epochs * steps_per_epoch(num_examples, batch_size)))))
  return round(config.warmup_fraction * num_steps)


def search_candidates(config: FinetuningConfig, task_index: int) -> list[dict[str, float]]:
  """The trials of one task, each {learning_rate, label_smoothing}.

  `search: grid`: one trial per entry of `learning_rates`, all with `label_smoothing`.
  `search: random`: dm_nevis's `finetuning_dknn` space — `num_trials` learning rates log-uniform in
  `learning_rate_range`, zipped with label smoothings uniform in `label_smoothing_range`, drawn with
  Python's `random.Random(task_index + 1)` and `random.Random(task_index + 2)` as dm_nevis's `hype`
  does, so the same task index gives dm_nevis's own trials (and a resumed task the same ones).
  """
  if config.search == "grid":
    smoothing = float(config.label_smoothing)
    return [{"learning_rate": float(lr), "label_smoothing": smoothing} for lr in config.learning_rates]
  n = int(config.num_trials)
  low, high = (math.log(float(v)) for v in config.learning_rate_range)
  lr_draws = random.Random(task_index + 1)
  smoothing_low, smoothing_high = (float(v) for v in config.label_smoothing_range)
  smoothing_draws = random.Random(task_index + 2)
  rates = [math.exp(lr_draws.uniform(low, high)) for _ in range(n)]
  smoothings = [smoothing_draws.uniform(smoothing_low, smoothing_high) for _ in range(n)]
  return [{"learning_rate": lr, "label_smoothing": ls} for lr, ls in zip(rates, smoothings)]
