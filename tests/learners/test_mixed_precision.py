"""Mixed precision of the fine-tuning learners (`compute_dtype: bfloat16`): bfloat16 convolutions and
activations, float32 parameters, BatchNorm statistics, features, head and loss."""
from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.errors import ConfigError
from nevis.learners.finetuning import IndependentLearner, PreviousLearner
from nevis.learners.resnet import ResNet
from tests.learners.test_finetuning import (
    TINY,
    Crash,
    MemoryCheckpoint,
    colour_split,
    colour_task,
    leaves_equal,
    predict,
)


def _model(dtype, stem="cifar") -> ResNet:
  return ResNet(width=4, blocks_per_stage=(1, 1), stem=stem, dtype=dtype, rngs=nnx.Rngs(jax.random.key(0, impl="rbg")))


def _images(size=16) -> jax.Array:
  return jnp.asarray(np.random.default_rng(5).uniform(-1, 1, (4, size, size, 3)), jnp.float32)


def _convolution_dtypes(model, images) -> list[str]:
  text = jax.jit(lambda x: model(x, train=False)).lower(images).as_text()
  return re.findall(r"stablehlo\.convolution.*-> tensor<[\dx]+x(\w+)>", text)


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_bfloat16_computes_in_bfloat16_and_keeps_float32_parameters_and_statistics(stem):
  full, mixed = _model(jnp.float32, stem), _model(jnp.bfloat16, stem)
  # The same parameters and statistics, in float32: checkpoints and backbones do not depend on the dtype.
  for kind in (nnx.Param, nnx.BatchStat):
    a, b = nnx.to_pure_dict(nnx.state(full, kind)), nnx.to_pure_dict(nnx.state(mixed, kind))
    assert leaves_equal(a, b)
    assert {x.dtype for x in jax.tree.leaves(b)} == {np.dtype("float32")}
  images = _images(32 if stem == "imagenet" else 16)
  convolutions = _convolution_dtypes(mixed, images)
  # The CPU's CIFAR stem is summed taps, not a convolution: 4 convolutions in the blocks (+ the stem elsewhere).
  assert len(convolutions) >= 4 and set(convolutions) == {"bf16"}
  assert set(_convolution_dtypes(full, images)) == {"f32"}

  features_full, features_mixed = full(images, train=True), mixed(images, train=True)
  assert features_mixed.dtype == jnp.float32
  error = float(jnp.abs(features_mixed - features_full).max() / jnp.abs(features_full).max())
  assert 0 < error < 0.05  # bfloat16 has an 8-bit mantissa: about 0.4 % per rounding
  # Running statistics are updated in float32, close to the float32 model's.
  stats_full = nnx.to_pure_dict(nnx.state(full, nnx.BatchStat))
  stats_mixed = nnx.to_pure_dict(nnx.state(mixed, nnx.BatchStat))
  assert {x.dtype for x in jax.tree.leaves(stats_mixed)} == {np.dtype("float32")}
  for a, b in zip(jax.tree.leaves(stats_full), jax.tree.leaves(stats_mixed), strict=True):
    np.testing.assert_allclose(b, a, rtol=0.05, atol=0.02)


def test_bfloat16_gradients_are_float32_and_point_the_same_way():
  images = _images()

  def gradients(dtype):
    model = _model(dtype)
    graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    params, stats = nnx.to_pure_dict(params), nnx.to_pure_dict(stats)

    def loss(params):  # as the learners' train step: state as pure dicts, merged inside the trace
      features = nnx.merge(graphdef, params, stats)(images, train=True)
      return jnp.sum(features * jnp.arange(features.shape[1], dtype=jnp.float32))

    return jax.tree.leaves(jax.grad(loss)(params))

  full, mixed = gradients(jnp.float32), gradients(jnp.bfloat16)
  assert {g.dtype for g in mixed} == {np.dtype("float32")}
  flat_full = np.concatenate([np.ravel(g) for g in full])
  flat_mixed = np.concatenate([np.ravel(g) for g in mixed])
  cosine = flat_full @ flat_mixed / (np.linalg.norm(flat_full) * np.linalg.norm(flat_mixed))
  assert 0.99 < cosine < 1.0  # the same direction, not the same bits


def test_a_bfloat16_learner_learns_and_its_state_is_float32():
  learner = IndependentLearner(**TINY, num_steps=30, learning_rates=[0.1], compute_dtype="bfloat16")
  task = colour_task("colours", 4)
  state = learner.train(task, learner.init(None))
  assert {x.dtype for x in jax.tree.leaves(state["backbones"])} == {np.dtype("float32")}
  held_out = colour_split(64, 4, seed=7)
  logits = predict(learner, task, state, held_out)
  assert logits.dtype == np.float32
  assert np.mean(np.argmax(logits, 1) != held_out.labels) < 0.25  # chance is 0.75


def test_a_bfloat16_task_resumes_to_the_same_bits():
  config = dict(TINY, num_steps=10, learning_rates=[0.1], compute_dtype="bfloat16")
  learner = PreviousLearner(**config)
  uninterrupted = learner.train(colour_task("b", 4, seed=1, checkpoint=MemoryCheckpoint(every=4)), learner.init(None))
  hook = MemoryCheckpoint(every=4, crash_after=2)
  with pytest.raises(Crash):
    learner.train(colour_task("b", 4, seed=1, checkpoint=hook), learner.init(None))
  resumed = PreviousLearner(**config).train(colour_task("b", 4, seed=1, checkpoint=hook), learner.init(None))
  assert leaves_equal(resumed, uninterrupted)
  # And it is not the float32 run: the option changes what is computed.
  float32 = PreviousLearner(**dict(config, compute_dtype="float32")).train(colour_task("b", 4, seed=1),
                                                                           learner.init(None))
  assert not leaves_equal(float32["carry"]["params"], uninterrupted["carry"]["params"])


def test_an_unknown_compute_dtype_is_refused_with_the_choices():
  with pytest.raises(ConfigError, match="compute_dtype.*float32.*bfloat16"):
    IndependentLearner(**TINY, compute_dtype="float16")
