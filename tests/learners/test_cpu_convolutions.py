"""The fine-tuning ResNets' convolutions by oneDNN on CPU (`cpu_convolutions`): same function, same FLOPs."""
from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.errors import ConfigError
from nevis.learners import cpu_convolutions, resnet
from nevis.learners.finetuning import IndependentLearner
from nevis.learners.nn import onednn_convolution
from nevis.learners.resnet import ResNet
from nevis.metrics import flops
from nevis.metrics.errors import UncountedCustomCallError
from tests.learners.test_finetuning import TINY, colour_task

needs_onednn = pytest.mark.skipif(onednn_convolution.unavailable() is not None,
                                  reason=f"oneDNN convolutions: {onednn_convolution.unavailable()}")


def _split(convolutions: str, stem: str = "cifar"):
  model = ResNet(width=4, blocks_per_stage=(1, 1), stem=stem, convolutions=convolutions,
                 rngs=nnx.Rngs(jax.random.key(0, impl="rbg")))
  graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
  return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(stats)


def _train_step(graphdef):
  def step(params, stats, images):  # as the learners' step: value, gradients and new statistics
    def loss(params):
      model = nnx.merge(graphdef, params, stats)
      features = model(images, train=True)
      return jnp.sum(features ** 2), nnx.to_pure_dict(nnx.state(model, nnx.BatchStat))

    return jax.value_and_grad(loss, has_aux=True)(params)

  return step


@needs_onednn
@pytest.mark.parametrize("stem, size", [("cifar", 8), ("imagenet", 16)])
def test_auto_computes_every_convolution_by_onednn_and_the_same_step_with_the_same_flops(stem, size, monkeypatch):
  # Every convolution through the hook, the CIFAR stem too (on CPU it is summed taps either way).
  monkeypatch.setattr(resnet, "stem_uses_taps", lambda channels: False)
  images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, size, size, 3)), jnp.float32)
  results, counts = {}, {}
  for mode in ("xla", "auto"):
    graphdef, params, stats = _split(mode, stem)
    step = _train_step(graphdef)
    text = jax.jit(step).lower(params, stats, images).as_text()
    calls = re.findall(r"custom_call @(nevis_onednn_convolution_\w+)", text)
    convolutions = len(re.findall(r"stablehlo\.convolution", text))
    if mode == "xla":
      assert calls == [] and convolutions > 0
    else:
      # 5 convolutions (stem, 2 in the first block, 2 + projection in the second): forward each, weight gradients
      # each, input gradients for all but the stem (the images need none).
      assert convolutions == 0
      assert sorted(set(calls)) == sorted(onednn_convolution.TWINS)
      assert calls.count(onednn_convolution.FORWARD) == 6 and calls.count(onednn_convolution.BACKWARD_WEIGHTS) == 6
      assert calls.count(onednn_convolution.BACKWARD_DATA) == 5
    results[mode] = jax.jit(step)(params, stats, images)
    counts[mode] = flops.count_flops(step, (params, stats, images))
  for a, b in zip(jax.tree.leaves(results["xla"]), jax.tree.leaves(results["auto"]), strict=True):
    np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-4 * float(jnp.abs(a).max()))
  assert counts["auto"] == counts["xla"] > 1e5  # a oneDNN call is charged the XLA convolution it replaces


@needs_onednn
def test_the_cifar_stem_is_summed_taps_with_either_kernels_so_a_run_counts_the_same_flops():
  if jax.default_backend() != "cpu":
    pytest.skip("the taps are a CPU choice")
  images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 3)), jnp.float32)
  counts = {}
  for mode in ("xla", "auto"):
    graphdef, params, stats = _split(mode)
    counts[mode] = flops.count_flops(_train_step(graphdef), (params, stats, images))
  assert counts["auto"] == counts["xla"]


def test_xla_mode_and_non_float32_inputs_keep_xlas_convolutions():
  assert not cpu_convolutions.uses_onednn("xla")
  convolve = cpu_convolutions.conv_general_dilated("auto")
  assert convolve is cpu_convolutions.conv_general_dilated("auto")  # one per mode: equal graph definitions
  x, kernel = jnp.ones((1, 4, 4, 2), jnp.bfloat16), jnp.ones((3, 3, 2, 2), jnp.bfloat16)
  numbers = ("NHWC", "HWIO", "NHWC")
  text = jax.jit(lambda x, k: convolve(x, k, (1, 1), "SAME", dimension_numbers=numbers)).lower(x, kernel).as_text()
  assert "stablehlo.convolution" in text and "custom_call" not in text


def test_onednn_refuses_to_start_where_it_cannot_run(monkeypatch):
  monkeypatch.setattr(onednn_convolution, "unavailable", lambda: "no oneDNN here")
  with pytest.raises(ConfigError, match="cpu_convolutions: onednn cannot run here: no oneDNN here; install it or "
                                        "choose auto or xla"):
    IndependentLearner(**TINY, cpu_convolutions="onednn")
  assert not cpu_convolutions.uses_onednn("auto")  # auto falls back to XLA's
  IndependentLearner(**TINY, cpu_convolutions="auto")


def test_a_custom_call_without_a_twin_is_refused_not_counted_as_free():
  def opaque(x):
    return jax.ffi.ffi_call("nevis_test_unregistered_kernel", jax.ShapeDtypeStruct(x.shape, x.dtype))(x) + 1.0

  with pytest.raises(UncountedCustomCallError, match="nevis_test_unregistered_kernel.*register_twins"):
    flops.count_flops(opaque, (jnp.ones(4),))


def test_each_task_records_the_kernels_its_convolutions_ran_on(monkeypatch):
  for mode, expected in (("xla", "xla"), ("auto", "xla" if onednn_convolution.unavailable() else "onednn")):
    task = colour_task("colours", 4)
    learner = IndependentLearner(**TINY, num_steps=2, learning_rates=[0.1], cpu_convolutions=mode)
    learner.train(task, learner.init(None))
    assert task.notes["convolutions"] == expected
  assert cpu_convolutions.kernels("auto", "bfloat16") == "xla"  # oneDNN here computes float32 only
  monkeypatch.setattr(onednn_convolution, "unavailable", lambda: "no oneDNN here")
  assert cpu_convolutions.kernels("auto", "float32") == "xla"
