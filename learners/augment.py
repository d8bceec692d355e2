"""On-device image preprocessing of NEVIS's baselines, vectorised over the batch (pure jnp functions).

Training: Inception-style random-resized-crop (area fraction in [0.08, 1], aspect ratio w/h log-uniform in
[3/4, 4/3], 10 attempts, falling back to the central square crop as dm_nevis does), resize to the model's
input size, random left-right flip. Evaluation: the central square crop of side min(H, W), resized.
Both turn grey images into RGB and scale pixels to [-1, 1] (dm_nevis `augmentations.normalize`).

Crop boxes are continuous (sub-pixel), not rounded to whole pixels as TF's `sample_distorted_bounding_box`;
`jax.image.scale_and_translate` resamples them with an antialiased linear kernel.

The fine-tuning learners set two knobs per task, as array arguments of one compiled step:
- `min_area`, the smallest crop (area fraction; 0.08 is Inception's and dm_nevis's). At 1 no crop fits
  and every example falls back to its central square: no cropping at all.
- the flip probability, from `flips(info, policy)`: `always` (dm_nevis flips every task), `never`, or
  `auto`, which never flips a task whose label a mirror image can change (see `flips`).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

AREA_RANGE = (0.08, 1.0)
ASPECT_RANGE = (3 / 4, 4 / 3)
CROP_ATTEMPTS = 10
FLIP_POLICIES = ("auto", "always", "never")


def flips(info, policy: str) -> bool:
  """Whether training images of the task `info` (a `TaskInfo`) are randomly mirrored left-right.

  `auto` asks the task: a stream says whether a mirror image keeps the label (`TaskInfo.flip_invariant`;
  the NEVIS'22 catalogue and `mini` set it per dataset: False for digits, letters, handwriting and
  direction-bearing labels such as traffic signs and head yaw, where a mirrored "2", "b" or
  "turn left" sign is another class or no class at all). A stream that does not say (None) is judged
  by its class names: if every one is a single character (digits, letters) the task is text and is
  not flipped; otherwise it is.
  """
  if policy not in FLIP_POLICIES:
    raise ValueError(f"flip policy must be one of {FLIP_POLICIES}; got {policy!r}")
  if policy != "auto":
    return policy == "always"
  known = getattr(info, "flip_invariant", None)
  if known is not None:
    return bool(known)
  return not all(len(name) == 1 for name in info.class_names)


def to_rgb(images: jax.Array) -> jax.Array:
  """(B, H, W, C) with C in {1, 3, 4} -> (B, H, W, 3): grey is repeated, an alpha channel dropped."""
  channels = images.shape[-1]
  if channels == 1:
    return jnp.repeat(images, 3, axis=-1)
  if channels == 3:
    return images
  if channels == 4:
    return images[..., :3]
  raise ValueError(f"images must have 1, 3 or 4 channels; got {channels}")


def normalize(pixels: jax.Array) -> jax.Array:
  """Pixel values in [0, 255] -> [-1, 1]."""
  return pixels / 127.5 - 1.0


def crop_boxes(
    uniforms: jax.Array,
    height: int,
    width: int,
    *,
    area_range: tuple[float, float] = AREA_RANGE,
    aspect_range: tuple[float, float] = ASPECT_RANGE,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """Crop boxes (top, left, box_height, box_width), each (B,) float32 in pixels, from uniforms in [0, 1).

  `uniforms` is (B, 2 * attempts + 2): per example, the attempts' areas, then their aspect ratios, then the
  top and left positions. One draw for everything keeps the compiled graph small (one RNG call).
  """
  attempts = (uniforms.shape[1] - 2) // 2
  area_fraction = area_range[0] + uniforms[:, :attempts] * (area_range[1] - area_range[0])
  log_low, log_high = math.log(aspect_range[0]), math.log(aspect_range[1])
  aspect = jnp.exp(log_low + uniforms[:, attempts:2 * attempts] * (log_high - log_low))
  area = area_fraction * (height * width)
  box_width = jnp.sqrt(area * aspect)
  box_height = jnp.sqrt(area / aspect)
  fits = (box_height <= height) & (box_width <= width)
  first_fit = jnp.argmax(fits, axis=1)[:, None]  # the first attempt that fits, as TF's sampler
  box_height = jnp.take_along_axis(box_height, first_fit, axis=1)[:, 0]
  box_width = jnp.take_along_axis(box_width, first_fit, axis=1)[:, 0]
  any_fit = fits.any(axis=1)
  side = float(min(height, width))
  box_height = jnp.where(any_fit, box_height, side)
  box_width = jnp.where(any_fit, box_width, side)
  # Uniform position; the fallback box has no freedom along its short side and is centred on the long one.
  top = jnp.where(any_fit, uniforms[:, -2] * (height - box_height), (height - side) / 2)
  left = jnp.where(any_fit, uniforms[:, -1] * (width - box_width), (width - side) / 2)
  return top, left, box_height, box_width


def crop_and_resize(image: jax.Array, top, left, box_height, box_width, size: int) -> jax.Array:
  """One float image (H, W, C): the box resampled to (size, size, C)."""
  scale = jnp.stack([size / box_height, size / box_width])
  translation = -jnp.stack([top, left]) * scale
  return jax.image.scale_and_translate(
      image, (size, size, image.shape[-1]), (0, 1), scale, translation, method="linear", antialias=True
  )


def train_preprocess(
    key: jax.Array, images: jax.Array, image_size: int, min_area=AREA_RANGE[0], flip_probability=0.5
) -> jax.Array:
  """uint8 (B, H, W, C) -> float32 (B, image_size, image_size, 3) in [-1, 1], randomly cropped, flipped.

  `min_area` and `flip_probability` may be traced scalars: one compilation serves every task."""
  batch_size, height, width, _ = images.shape
  uniforms = jax.random.uniform(key, (batch_size, 2 * CROP_ATTEMPTS + 3))
  pixels = to_rgb(images.astype(jnp.float32))
  top, left, box_height, box_width = crop_boxes(
      uniforms[:, :-1], height, width, area_range=(min_area, AREA_RANGE[1])
  )
  crops = jax.vmap(crop_and_resize, in_axes=(0, 0, 0, 0, 0, None))(
      pixels, top, left, box_height, box_width, image_size
  )
  flip = uniforms[:, -1] < flip_probability
  crops = jnp.where(flip[:, None, None, None], crops[:, :, ::-1, :], crops)
  return normalize(crops)


def eval_preprocess(images: jax.Array, image_size: int) -> jax.Array:
  """uint8 (B, H, W, C) -> float32 (B, image_size, image_size, 3) in [-1, 1]: central square crop, resize."""
  batch_size, height, width, _ = images.shape
  side = min(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  pixels = to_rgb(images[:, top:top + side, left:left + side, :].astype(jnp.float32))
  if side != image_size:
    shape = (batch_size, image_size, image_size, 3)
    pixels = jax.image.resize(pixels, shape, method="linear", antialias=True)
  return normalize(pixels)
