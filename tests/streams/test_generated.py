"""What the generated streams share: option checks (one-line ConfigErrors) and per-split generators."""
from __future__ import annotations

import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.streams import generated


def test_check_int_bounds_and_types():
  generated.check_int("s", "n", 3, 1)
  generated.check_int("s", "n", 5, 1, 5)
  for value, message in ((0, "stream 's': n must be an int >= 1, got 0"), (True, "got True"), (2.0, "got 2.0")):
    with pytest.raises(ConfigError, match=message):
      generated.check_int("s", "n", value, 1)
  with pytest.raises(ConfigError, match=r'n must be an int in \[1, 5\] or "all", got 6$'):
    generated.check_int("s", "n", 6, 1, 5, also='or "all"')


def test_reject_unknown_suggests_the_closest_option():
  generated.reject_unknown("s", {}, ("seed",))
  with pytest.raises(ConfigError, match=r"stream 's' has no option 'sed' \(did you mean 'seed'\?\); its options are"):
    generated.reject_unknown("s", {"sed": 1}, ("seed", "image_size"))


def test_examples_per_class_from_a_train_count_or_a_mapping():
  assert generated.examples_per_class("s", 9, 4) == {"train": 9, "dev": 2, "dev_test": 2, "test": 2}
  assert generated.examples_per_class("s", 1, 2) == {"train": 1, "dev": 1, "dev_test": 1, "test": 1}
  counts = {"train": 5, "dev": 1, "dev_test": 2, "test": 3}
  assert generated.examples_per_class("s", counts, 4) == counts
  with pytest.raises(ConfigError, match="needs a count for each of"):
    generated.examples_per_class("s", {"train": 5}, 4)
  with pytest.raises(ConfigError, match=r"examples_per_class\[test\] must be an int >= 1, got 0"):
    generated.examples_per_class("s", counts | {"test": 0}, 4)


def test_each_split_has_its_own_generator():
  draws = {split: generated.split_rng(0, 1, split).random(4) for split in ("train", "dev", "dev_test", "test")}
  np.testing.assert_array_equal(draws["dev"], generated.split_rng(0, 1, "dev").random(4))
  assert len({tuple(d) for d in draws.values()}) == 4
  assert not np.array_equal(draws["dev"], generated.split_rng(0, 2, "dev").random(4))
  with pytest.raises(ValueError, match="unknown split 'valid'"):
    generated.split_rng(0, 1, "valid")
