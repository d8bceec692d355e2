"""Images made into the store's format: central square, antialiased resize, RGB uint8."""
from __future__ import annotations

import numpy as np
import pytest

from nevis.streams.images import resize_images


def test_resize_takes_the_central_square_without_resampling_at_the_target_size():
  image = np.arange(4 * 6, dtype=np.uint8).reshape(1, 4, 6)  # grey, wider than tall
  out = resize_images(image, 4)
  assert out.shape == (1, 4, 4, 3) and out.dtype == np.uint8
  expected = image[0, :, 1:5]  # columns 1..4: the central 4x4
  for channel in range(3):
    np.testing.assert_array_equal(out[0, :, :, channel], expected)


def test_resize_is_antialiased_when_shrinking():
  stripes = np.zeros((2, 64, 64), np.uint8)
  stripes[:, :, 1::2] = 255  # one-pixel columns: nearest-neighbour would give all 0 or all 255
  out = resize_images(stripes, 8)
  deviation = np.abs(out.astype(int) - 128)
  assert deviation[:, :, 1:-1].max() <= 1  # away from the borders, a clean average
  assert deviation.max() <= 8  # at the borders the filter sees a clamped edge


def test_resize_handles_channels_and_mixed_sizes():
  rgba = np.zeros((10, 20, 4), np.uint8)
  rgba[..., 0], rgba[..., 3] = 200, 17
  grey = np.full((30, 12, 1), 90, np.uint8)
  rgb = np.zeros((16, 16, 3), np.uint8)
  rgb[..., 2] = 40
  out = resize_images([rgba, grey, rgb], 5)
  assert out.shape == (3, 5, 5, 3)
  np.testing.assert_array_equal(out[0], np.broadcast_to([200, 0, 0], (5, 5, 3)))  # alpha dropped
  np.testing.assert_array_equal(out[1], np.full((5, 5, 3), 90))  # constant stays constant
  np.testing.assert_array_equal(out[2], np.broadcast_to([0, 0, 40], (5, 5, 3)))
  with pytest.raises(ValueError, match="uint8"):
    resize_images(np.zeros((1, 4, 4), np.float32), 4)
  with pytest.raises(ValueError, match="shape"):
    resize_images(np.zeros((1, 4, 4, 2), np.uint8), 4)
