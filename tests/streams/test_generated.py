"""What the generated streams share: examples per class (counted and checked) and per-split generators."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.options import Options, option
from nevis.streams import generated


def test_examples_per_class_from_a_train_count_or_a_mapping():
  assert generated.examples_per_class(9, 4) == {"train": 9, "dev": 2, "dev_test": 2, "test": 2}
  assert generated.examples_per_class(1, 2) == {"train": 1, "dev": 1, "dev_test": 1, "test": 1}
  counts = {"train": 5, "dev": 1, "dev_test": 2, "test": 3}
  assert generated.examples_per_class(counts, 4) == counts


@dataclasses.dataclass(frozen=True)
class Counts(Options):
  examples_per_class: int | dict = option(3, "per class", minimum=1)

  def check(self):
    generated.check_examples_per_class(self)


def test_a_mapping_of_examples_per_class_needs_every_split_counted():
  counts = {"train": 5, "dev": 1, "dev_test": 2, "test": 3}
  assert Counts.parse({"examples_per_class": counts}).examples_per_class == counts
  with pytest.raises(ConfigError, match="s.examples_per_class needs a count for each of"):
    Counts.parse({"examples_per_class": {"train": 5}}, owner="s")
  with pytest.raises(ConfigError, match="s.examples_per_class must have an integer count >= 1 for test; got"):
    Counts.parse({"examples_per_class": counts | {"test": 0}}, owner="s")
  with pytest.raises(ConfigError, match="s.examples_per_class must be >= 1, got 0"):
    Counts.parse({"examples_per_class": 0}, owner="s")


def test_each_split_has_its_own_generator():
  draws = {split: generated.split_rng(0, 1, split).random(4) for split in ("train", "dev", "dev_test", "test")}
  np.testing.assert_array_equal(draws["dev"], generated.split_rng(0, 1, "dev").random(4))
  assert len({tuple(d) for d in draws.values()}) == 4
  assert not np.array_equal(draws["dev"], generated.split_rng(0, 2, "dev").random(4))
  with pytest.raises(ValueError, match="unknown split 'valid'"):
    generated.split_rng(0, 1, "valid")
