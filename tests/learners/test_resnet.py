from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.learners.resnet import ResNet, feature_dim


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
