"""What the generated streams (`synthetic`, `glyphs`) share: the option of examples per class, and the random
generator of each split.

A split's generator is seeded by (seed, task, split) alone, so each split is generated on its own: loading
one split, or changing its size, never shifts another.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from nevis.options import Options
from nevis.task import SPLITS

EXAMPLES_PER_CLASS_DOC = "train examples per class (the other splits get {}), or a mapping with a count per split"


def split_rng(seed: int, task_index: int, split: str) -> np.random.Generator:
  """The generator of one split of one task (splits number from 1: a last entry of 0 is free for a stream's
  per-task draws)."""
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
  return np.random.default_rng([seed, task_index, 1 + SPLITS.index(split)])


def check_examples_per_class(options: Options) -> None:
  """The rule of `examples_per_class` given as a mapping (a count is checked by its field's minimum)."""
  value = options.examples_per_class
  if isinstance(value, Mapping):
    if set(value) != set(SPLITS):
      options.fail("examples_per_class", f"needs a count for each of {SPLITS}")
    for split in SPLITS:
      if isinstance(value[split], bool) or not isinstance(value[split], int) or value[split] < 1:
        options.fail("examples_per_class", f"must have an integer count >= 1 for {split}")


def examples_per_class(value: int | Mapping[str, int], divisor: int) -> dict[str, int]:
  """A count per split from a mapping with one for every split, or from the train count alone: the other
  splits then get the train count over `divisor`, at least 1."""
  if isinstance(value, Mapping):
    return {split: value[split] for split in SPLITS}
  return {"train": value, **{s: max(value // divisor, 1) for s in SPLITS[1:]}}
