"""oneDNN's convolutions as XLA FFI custom calls: the same function and gradients as XLA's convolution."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis.learners.nn import onednn_convolution as oc

HAS_ONEDNN = (Path(sys.prefix) / "include" / "oneapi" / "dnnl" / "dnnl_version.h").exists()
needs_onednn = pytest.mark.skipif(oc.unavailable() is not None, reason=f"oneDNN convolutions: {oc.unavailable()}")


def _reference(x, kernel, stride, padding):
  return jax.lax.conv_general_dilated(x, kernel, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def test_where_onednn_and_a_compiler_are_installed_the_convolutions_build_and_load():
  if not (HAS_ONEDNN and (shutil.which("c++") or shutil.which("g++"))) or jax.default_backend() != "cpu":
    pytest.skip("no oneDNN (the onednn extra) or no C++ compiler here")
  assert oc.unavailable() is None


@needs_onednn
@pytest.mark.parametrize("shape, kernel_size, stride, padding", [
    ((2, 9, 9, 16), 3, 1, "SAME"),  # odd sides: padding and strides at the edges
    ((2, 8, 8, 16), 3, 2, "SAME"),  # XLA's SAME at stride 2: (0, 1)
    ((2, 8, 8, 8), 1, 2, "SAME"),  # the projections
    ((2, 16, 16, 3), 7, 2, "SAME"),  # the imagenet stem
    ((2, 8, 8, 3), 3, 1, "VALID"),
    ((1, 6, 7, 4), 3, 1, ((2, 0), (1, 3))),  # uneven explicit padding
])
def test_forward_and_gradients_equal_xlas_convolution(shape, kernel_size, stride, padding):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (kernel_size, kernel_size, shape[-1], 8)) * 0.2
  pads = oc.pads(shape, kernel.shape, stride, padding)
  expected = _reference(x, kernel, stride, padding)
  got = jax.jit(oc.convolution, static_argnums=(2, 3))(x, kernel, stride, pads)
  assert got.shape == expected.shape
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
  weights = jax.random.normal(jax.random.key(2), expected.shape)

  def loss(conv):
    return jax.jit(jax.grad(lambda x, k: jnp.sum(conv(x, k) * weights), argnums=(0, 1)))(x, kernel)

  dx, dk = loss(lambda x, k: oc.convolution(x, k, stride, pads))
  dx_ref, dk_ref = loss(lambda x, k: _reference(x, k, stride, padding))
  np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dk, dk_ref, rtol=1e-5, atol=2e-5 * float(jnp.abs(dk_ref).max()))


@needs_onednn
def test_repeated_calls_give_the_same_bits_and_only_the_needed_gradient_is_computed():
  x = jax.random.normal(jax.random.key(0), (4, 8, 8, 16))
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 16, 16))
  pads = ((1, 1), (1, 1))
  step = jax.jit(jax.value_and_grad(lambda k: jnp.sum(oc.convolution(x, k, 1, pads) ** 2)))
  first, second = step(kernel), step(kernel)
  assert all(np.array_equal(a, b) for a, b in zip(first, second))
  targets = [e.params["target_name"] for e in jax.make_jaxpr(step)(kernel).jaxpr.eqns[0].params["jaxpr"].eqns
             if e.primitive.name == "ffi_call"]
  assert targets == [oc.BACKWARD_WEIGHTS]  # the input's gradient is not wanted, so not computed (nor charged)


def test_a_missing_onednn_or_compiler_is_one_line_naming_the_fix(tmp_path, monkeypatch):
  monkeypatch.setenv("NEVIS_ONEDNN_PREFIX", str(tmp_path))
  with pytest.raises(RuntimeError, match=r'oneDNN is not installed in .*pip install "nevis\[onednn\]"'):
    oc._build()
  if not HAS_ONEDNN:
    return
  monkeypatch.setenv("NEVIS_ONEDNN_PREFIX", sys.prefix)
  monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
  monkeypatch.setenv("NEVIS_KERNEL_CACHE", str(tmp_path / "kernels"))
  with pytest.raises(RuntimeError, match="could not be run") as raised:
    oc._build()
  assert "\n" not in str(raised.value)


@needs_onednn
def test_a_build_is_kept_and_reused(tmp_path, monkeypatch):
  monkeypatch.setenv("NEVIS_KERNEL_CACHE", str(tmp_path))
  built = oc._build()
  assert built.parent == tmp_path and built.exists() and list(tmp_path.iterdir()) == [built]
  stamp = os.stat(built).st_mtime_ns
  assert oc._build() == built and os.stat(built).st_mtime_ns == stamp  # not rebuilt


def test_supports_only_2d_float32_nhwc_with_one_stride():
  x, kernel = jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 2))
  numbers = ("NHWC", "HWIO", "NHWC")
  common = dict(lhs_dilation=None, rhs_dilation=None, feature_group_count=1, batch_group_count=1,
                preferred_element_type=None)
  assert oc.supports(x, kernel, (2, 2), numbers, **common)
  assert not oc.supports(x, kernel, (1, 2), numbers, **common)  # strides differ by axis
  assert not oc.supports(jnp.ones((1, 4, 2)), jnp.ones((3, 2, 2)), (1,), ("NWC", "WIO", "NWC"), **common)  # 1-D
  assert not oc.supports(x, kernel, (1, 1), ("NCHW", "OIHW", "NCHW"), **common)
  assert not oc.supports(x.astype(jnp.bfloat16), kernel.astype(jnp.bfloat16), (1, 1), numbers, **common)
  assert not oc.supports(x, kernel, (1, 1), numbers, **dict(common, rhs_dilation=(2, 2)))
