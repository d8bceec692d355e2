"""What the generated streams (`synthetic`, `glyphs`) share: checks of their options, one-line ConfigErrors
naming the stream, the option and what it accepts; and the random generator of each split.

A split's generator is seeded by (seed, task, split) alone, so each split is generated on its own: loading
one split, or changing its size, never shifts another.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from nevis.errors import ConfigError, closest
from nevis.task import SPLITS


def split_rng(seed: int, task_index: int, split: str) -> np.random.Generator:
  """The generator of one split of one task (splits number from 1: a last entry of 0 is free for a stream's
  per-task draws)."""
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
  return np.random.default_rng([seed, task_index, 1 + SPLITS.index(split)])


def reject_unknown(stream: str, unknown: Iterable[str], options: tuple[str, ...]) -> None:
  for key in unknown:
    raise ConfigError(
        f"stream {stream!r} has no option {key!r}{closest(key, options)}; its options are {', '.join(options)}"
    )


def check_int(stream: str, name: str, value, minimum: int, maximum: int | None = None, also: str = "") -> None:
  """`also` names what else the option accepts, e.g. 'or "all"'."""
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
      maximum is not None and value > maximum):
    bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise ConfigError(f"stream {stream!r}: {name} must be an int {bounds}{' ' + also if also else ''}, "
                      f"got {value!r}")


def examples_per_class(stream: str, value: int | Mapping[str, int], divisor: int) -> dict[str, int]:
  """A count per split from a mapping with one for every split, or from the train count alone: the other
  splits then get the train count over `divisor`, at least 1."""
  if isinstance(value, Mapping):
    if set(value) != set(SPLITS):
      raise ConfigError(f"stream {stream!r}: examples_per_class needs a count for each of {SPLITS}, "
                        f"got {sorted(value)}")
    counts = {split: value[split] for split in SPLITS}
  else:
    check_int(stream, "examples_per_class", value, 1)
    counts = {"train": value, **{s: max(value // divisor, 1) for s in SPLITS[1:]}}
  for split, count in counts.items():
    check_int(stream, f"examples_per_class[{split}]", count, 1)
  return counts
