import math

import pytest

from nevis.metrics.chance import chance_error


def test_chance_error_of_a_uniform_guess():
  assert chance_error(2) == 0.5
  assert chance_error(10) == pytest.approx(0.9)
  assert chance_error(1) == 0.0  # one class: always right
  assert math.isnan(chance_error(5, multi_label=True))  # 1 - mAP of random scores needs the labels
  with pytest.raises(ValueError, match="num_classes must be >= 1"):
    chance_error(0)
