from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from nevis.learners import augment

# Compiled once: run eagerly, every jnp operation would compile on its own.
_train_preprocess = jax.jit(augment.train_preprocess, static_argnums=2)
_eval_preprocess = jax.jit(augment.eval_preprocess, static_argnums=1)
_crop_and_resize = jax.jit(augment.crop_and_resize, static_argnums=5)
_crop_boxes = jax.jit(augment.crop_boxes, static_argnums=(1, 2))


def test_eval_preprocess_is_central_square_crop_scaled_to_unit_range():
  images = np.arange(2 * 4 * 6 * 1, dtype=np.uint8).reshape(2, 4, 6, 1) * 5
  out = np.asarray(_eval_preprocess(images, 4))
  assert out.shape == (2, 4, 4, 3) and out.dtype == np.float32
  # Side 4 = input height, so no resampling: columns 1..4 of each image, grey repeated into RGB.
  expected = images[:, :, 1:5, :].astype(np.float32) / 127.5 - 1.0
  np.testing.assert_allclose(out, np.repeat(expected, 3, axis=-1), rtol=0, atol=1e-6)


def test_eval_preprocess_resizes_and_keeps_constant_images_constant():
  images = np.full((3, 10, 7, 3), 255, np.uint8)
  out = np.asarray(_eval_preprocess(images, 16))
  assert out.shape == (3, 16, 16, 3)
  np.testing.assert_allclose(out, 1.0, atol=1e-5)
  zeros = np.asarray(_eval_preprocess(np.zeros((1, 5, 5, 1), np.uint8), 8))
  np.testing.assert_allclose(zeros, -1.0, atol=1e-6)


def test_crop_and_resize_full_box_is_identity_and_half_box_selects_half():
  image = jnp.asarray(np.random.default_rng(0).uniform(0, 255, (4, 8, 3)), jnp.float32)
  full = _crop_and_resize(image[:, :4], 0.0, 0.0, 4.0, 4.0, 4)
  np.testing.assert_allclose(full, image[:, :4], atol=1e-4)
  # The right half of the image (a 4x4 box at column 4) at its own size is exactly that half.
  right = _crop_and_resize(image, 0.0, 4.0, 4.0, 4.0, 4)
  np.testing.assert_allclose(right, image[:, 4:], atol=1e-4)


def test_crop_boxes_respect_area_and_aspect_ranges():
  uniforms = jax.random.uniform(jax.random.key(0, impl="rbg"), (2000, 2 * augment.CROP_ATTEMPTS + 2))
  top, left, box_height, box_width = map(np.asarray, _crop_boxes(uniforms, 20, 30))
  area_fraction = box_height * box_width / (20 * 30)
  aspect = box_width / box_height
  fallback = (box_height == 20) & (box_width == 20)
  assert fallback.mean() < 0.05  # 10 attempts nearly always fit in a 20x30 image
  fit = ~fallback
  assert (area_fraction[fit] >= 0.08 - 1e-6).all() and (area_fraction[fit] <= 1 + 1e-6).all()
  assert (aspect[fit] >= 3 / 4 - 1e-5).all() and (aspect[fit] <= 4 / 3 + 1e-5).all()
  assert (top >= 0).all() and (left >= 0).all()
  assert (top + box_height <= 20 + 1e-4).all() and (left + box_width <= 30 + 1e-4).all()
  # A box at most 20 high with aspect <= 4/3 covers at most 20 * 80/3 / 600 = 8/9 of the image.
  assert area_fraction.min() < 0.15 and 0.8 < area_fraction.max() <= 8 / 9 + 1e-5


def test_crop_boxes_fall_back_to_central_square_when_nothing_fits():
  # Area 1 of a 4x40 image with aspect 4/3 needs height sqrt(160 / (4/3)) ~ 11 > 4: no attempt fits.
  attempts = augment.CROP_ATTEMPTS
  uniforms = jnp.concatenate(
      [jnp.full((1, attempts), 0.999), jnp.zeros((1, attempts)), jnp.full((1, 2), 0.5)], axis=1
  )
  top, left, box_height, box_width = (float(x[0]) for x in _crop_boxes(uniforms, 4, 40))
  assert (top, left, box_height, box_width) == (0.0, 18.0, 4.0, 4.0)


def test_train_preprocess_shapes_range_determinism_and_flips():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (64, 12, 10, 1), dtype=np.uint8)
  key = jax.random.key(3, impl="rbg")
  out = np.asarray(_train_preprocess(key, images, 16))
  assert out.shape == (64, 16, 16, 3) and out.dtype == np.float32
  assert out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5
  np.testing.assert_array_equal(out, np.asarray(_train_preprocess(key, images, 16)))
  assert not np.array_equal(out, np.asarray(_train_preprocess(jax.random.key(4, impl="rbg"), images, 16)))
  # A left-dark, right-bright image: flipped outputs are bright on the left. About half are flipped.
  halves = np.zeros((64, 16, 16, 3), np.uint8)
  halves[:, :, 8:] = 255
  out = np.asarray(_train_preprocess(jax.random.key(5, impl="rbg"), halves, 16))
  left_mean, right_mean = out[:, :, :8].mean(axis=(1, 2, 3)), out[:, :, 8:].mean(axis=(1, 2, 3))
  flipped = left_mean > right_mean
  assert 16 <= flipped.sum() <= 48
  assert math.isclose(augment.normalize(jnp.float32(255.0)), 1.0) and augment.normalize(0.0) == -1.0
