from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.learners import resnet
from nevis.learners.resnet import ResNet, feature_dim, tap_convolution


def _rngs() -> nnx.Rngs:
  # rbg keys: eager threefry ops each compile slowly on XLA:CPU, which would dominate these tests.
  return nnx.Rngs(jax.random.key(0, impl="rbg"))


def _parameter_count(model) -> int:
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_tiny_resnet_shapes_and_parameter_count():
  model = ResNet(width=8, blocks_per_stage=(1, 1), rngs=_rngs())
  features = model(jnp.zeros((2, 16, 16, 3)), train=False)
  assert features.shape == (2, 16) == (2, feature_dim(8, (1, 1)))
  assert model.feature_dim == 16
  # stem 3*3*3*8 + BN 2*8; block 8->8: 2 * (3*3*8*8 + 2*8);
  # block 8->16 stride 2: 3*3*8*16 + 3*3*16*16 + 1x1 projection 8*16 + three BNs 3 * 2*16.
  expected = (216 + 16) + 2 * (576 + 16) + (1152 + 2304 + 128 + 96)
  assert _parameter_count(model) == expected == 5096


def test_projection_only_where_shape_changes():
  model = nnx.eval_shape(lambda: ResNet(width=4, blocks_per_stage=(2, 1, 1), rngs=nnx.Rngs(0)))
  assert model.block_names == ("stage0_block0", "stage0_block1", "stage1_block0", "stage2_block0")
  assert model.stage0_block0.projection is None and model.stage0_block1.projection is None
  assert model.stage1_block0.projection is not None and model.stage2_block0.projection is not None
  assert model.feature_dim == 16
  pure = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  assert all(isinstance(k, str) for k in pure)  # string keys only: checkpoint formats keep them as they are


def test_batch_norm_train_updates_statistics_and_eval_is_per_example():
  model = ResNet(width=4, blocks_per_stage=(1,), rngs=_rngs())
  images = jnp.asarray(np.random.default_rng(1).normal(size=(4, 8, 8, 3)), jnp.float32)
  before = nnx.to_pure_dict(nnx.state(model, nnx.BatchStat))
  model(images, train=True)
  after = nnx.to_pure_dict(nnx.state(model, nnx.BatchStat))
  assert not np.allclose(before["stem_bn"]["mean"], after["stem_bn"]["mean"])
  # In eval mode, one example's features do not depend on the rest of the batch.
  alone = model(images[:1], train=False)
  together = model(images, train=False)[:1]
  np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


def test_bad_config_is_rejected():
  with pytest.raises(ValueError):
    ResNet(width=4, blocks_per_stage=(), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError):
    ResNet(width=4, blocks_per_stage=(1, 0), rngs=nnx.Rngs(0))


def test_imagenet_stem_is_7x7_stride_2_with_max_pool():
  model = ResNet(width=8, blocks_per_stage=(1, 1), stem="imagenet", rngs=_rngs())
  assert model.stem.kernel[...].shape == (7, 7, 3, 8) and model.stem.strides == 2
  # Same blocks as the CIFAR-stem model of the first test; the stem is 7*7*3*8 instead of 3*3*3*8.
  assert _parameter_count(model) == 5096 - 216 + 1176
  images = jnp.asarray(np.random.default_rng(2).normal(size=(2, 32, 32, 3)), jnp.float32)
  assert model(images, train=False).shape == (2, 16)
  # 32 px -> 16 (stride-2 convolution) -> 8 (max-pool), then the stride-2 stage: 4x4 before the pool.
  stem = nnx.max_pool(jax.nn.relu(model.stem_bn(model.stem(images), use_running_average=True)), (3, 3),
                      strides=(2, 2), padding="SAME")
  assert stem.shape == (2, 8, 8, 8)
  with pytest.raises(ValueError, match="stem"):
    ResNet(width=4, blocks_per_stage=(1,), stem="vit", rngs=nnx.Rngs(0))


def _xla_convolution(images, kernel):
  return jax.lax.conv_general_dilated(images, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("kernel_size, channels", [(3, 3), (3, 1), (4, 4), (1, 3)])
def test_tap_convolution_is_the_convolution_with_its_gradients(kernel_size, channels):
  rng = np.random.default_rng(kernel_size * 10 + channels)
  images = jnp.asarray(rng.normal(size=(2, 7, 6, channels)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(kernel_size, kernel_size, channels, 5)), jnp.float32)
  expected = _xla_convolution(images, kernel)
  np.testing.assert_allclose(tap_convolution(images, kernel), expected, rtol=1e-5, atol=1e-5)
  # Hand-checked corner: output (0, 0) of a 3x3 kernel sees the top-left 2x2 of the image (SAME pads 1).
  if kernel_size == 3:
    corner = jnp.einsum("hwc,hwcf->f", images[0, :2, :2], kernel[1:, 1:])
    np.testing.assert_allclose(tap_convolution(images, kernel)[0, 0, 0], corner, rtol=1e-5)
  cotangent = jnp.asarray(rng.normal(size=expected.shape), jnp.float32)
  tap_gradients = jax.vjp(tap_convolution, images, kernel)[1](cotangent)
  xla_gradients = jax.vjp(_xla_convolution, images, kernel)[1](cotangent)
  for tap, xla in zip(tap_gradients, xla_gradients):
    np.testing.assert_array_equal(tap, xla)  # the backward pass is the convolution's own


def _stem_input_channels(model, images) -> list[int]:
  """Input channels of every convolution in the forward pass, as lowered for XLA."""
  text = jax.jit(lambda images: model(images, train=False)).lower(images).as_text()
  return [int(c) for c in re.findall(r"stablehlo\.convolution.*: \(tensor<\d+x\d+x\d+x(\d+)xf32>", text)]


def test_on_cpu_the_cifar_stem_of_colour_images_is_summed_taps_and_computes_the_same(monkeypatch):
  if jax.default_backend() != "cpu":
    pytest.skip("the taps are a CPU choice")
  model = ResNet(width=4, blocks_per_stage=(1, 1), rngs=_rngs())
  images = jnp.asarray(np.random.default_rng(3).normal(size=(2, 8, 8, 3)), jnp.float32)
  taps = model(images, train=False)
  monkeypatch.setattr(resnet.jax, "default_backend", lambda: "gpu")  # the convolution path, as off CPU
  convolved = model(images, train=False)
  np.testing.assert_allclose(taps, convolved, rtol=1e-5, atol=1e-6)
  monkeypatch.undo()
  assert 3 not in _stem_input_channels(model, images)
  # Not for the imagenet stem (7x7 stride 2) nor for inputs with many channels.
  imagenet = ResNet(width=4, blocks_per_stage=(1,), stem="imagenet", rngs=_rngs())
  assert 3 in _stem_input_channels(imagenet, jnp.zeros((2, 16, 16, 3)))
  wide = ResNet(width=4, blocks_per_stage=(1,), input_channels=8, rngs=_rngs())
  assert 8 in _stem_input_channels(wide, jnp.zeros((2, 8, 8, 8)))
