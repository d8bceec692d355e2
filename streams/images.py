"""Images of any size and channel layout made into the store's format: (N, S, S, 3) uint8 squares."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def resize_images(images: np.ndarray | Sequence[np.ndarray], image_size: int) -> np.ndarray:
  """Images of any size -> (N, S, S, 3) uint8: grey to RGB, central square crop, antialiased resize.

  `images` is a uint8 array (N, H, W), (N, H, W, 1|3|4) or a sequence of such images of varying sizes.
  The crop has side min(H, W); resizing uses PIL's bicubic filter, whose support widens when shrinking,
  so downscaling is antialiased. Alpha channels are dropped.
  """
  from PIL import Image

  size = int(image_size)
  count = len(images)
  out = np.empty((count, size, size, 3), np.uint8)
  for i in range(count):
    image = np.asarray(images[i])
    if image.dtype != np.uint8:
      raise ValueError(f"image {i} must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
      image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
      image = image[:, :, :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
      raise ValueError(
          f"image {i} has shape {image.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
      )
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top:top + side, left:left + side]
    if side != size:
      image = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))
    out[i] = image[:, :, None] if image.ndim == 2 else image
  return out
