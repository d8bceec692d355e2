"""The learners' CPU compiler options: convolutions compiled by Eigen, the same numbers, one metered function."""
from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis.learners import compiler_options
from nevis.learners.compiler_options import _measured_release
from nevis.meter import ComputeMeter

needs_option = pytest.mark.skipif(not compiler_options.compiler_options(),
                                  reason="not CPU, or a jaxlib these options were not measured on")


def _conv_net(x, w1, w2):
  dn = ("NHWC", "HWIO", "NHWC")
  y = jax.nn.relu(jax.lax.conv_general_dilated(x, w1, (1, 1), "SAME", dimension_numbers=dn))
  return jnp.sum(jax.lax.conv_general_dilated(y, w2, (1, 1), "SAME", dimension_numbers=dn) ** 2)


def _arguments():
  keys = jax.random.split(jax.random.key(0, impl="rbg"), 3)
  return (jax.random.normal(keys[0], (4, 8, 8, 16)), 0.1 * jax.random.normal(keys[1], (3, 3, 16, 32)),
          0.1 * jax.random.normal(keys[2], (3, 3, 32, 32)))


@needs_option
def test_convolutions_leave_ynnpack_and_the_gradients_agree_to_rounding():
  grad = jax.grad(_conv_net, argnums=(0, 1, 2))
  args = _arguments()
  default = jax.jit(grad).lower(*args).compile()
  tuned = jax.jit(grad, **compiler_options.jit_options()).lower(*args).compile()

  def ynn_convolutions(compiled) -> int:
    """Convolutions inside the computations that YNNPACK fusions call."""
    text = compiled.as_text()
    bodies = dict(re.findall(r"\n%?([\w.\-]+) [^\n]*\{\n(.*?)\n\}", text, re.S))
    called = re.findall(r"calls=%([\w.\-]+), [^\n]*__ynn_fusion", text)
    return sum(" convolution(" in bodies.get(name, "") for name in called)

  assert ynn_convolutions(default) > 0  # XLA's default: YNNPACK takes convolutions
  assert ynn_convolutions(tuned) == 0
  assert " convolution(" in tuned.as_text()  # still convolutions: Eigen's
  for got, want in zip(tuned(*args), default(*args)):
    # float32 sums in another order: agreement to rounding of the gradient's scale
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=1e-5 * float(jnp.abs(want).max()))
    assert not np.array_equal(np.asarray(got), np.zeros_like(got))


@needs_option
def test_jit_options_keep_the_callers_options():
  assert compiler_options.jit_options(static_argnums=1) == {
      "static_argnums": 1, "compiler_options": {"xla_cpu_experimental_ynn_fusion_type":
                                                "LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}}


def test_only_cpu_and_the_measured_jaxlib_release(monkeypatch):
  assert [_measured_release(v) for v in ("0.10.2", "0.10.0", "0.10.0.dev20260101", "0.9.1", "0.11.0", "1.0")] == [
      True, True, True, False, False, False]
  compiler_options.compiler_options.cache_clear()
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  try:
    assert compiler_options.compiler_options() == {}
    assert compiler_options.jit_options(static_argnums=1) == {"static_argnums": 1}
  finally:
    compiler_options.compiler_options.cache_clear()


def test_the_meter_gives_one_function_for_equal_compiler_options():
  meter = ComputeMeter()
  first = meter.jit(jnp.sin, compiler_options={"a": "1", "b": "2"})
  assert meter.jit(jnp.sin, compiler_options={"b": "2", "a": "1"}) is first
  assert meter.jit(jnp.sin, compiler_options={"a": "1"}) is not first


@needs_option
def test_a_learners_compiled_functions_get_the_options():
  from nevis.learners import finetuning_steps
  seen = []

  def jit(fn, **kwargs):  # what `task.jit` receives
    seen.append(kwargs)
    return fn

  functions = finetuning_steps.functions(4, (1,), "cifar", 8, 1e-4, 0.9)
  functions.get(jit, "train_step_single_label")
  functions.get(jit, "head_init")
  options = compiler_options.compiler_options()
  assert seen == [{"compiler_options": options}, {"static_argnums": (1,), "compiler_options": options}]
