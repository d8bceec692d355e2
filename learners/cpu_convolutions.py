"""Which kernels compute the ResNets' convolutions on CPU: XLA's own, or oneDNN's (`nn/onednn_convolution.py`).

`cpu_convolutions` (an option of the fine-tuning learners):
  - `auto` (default): oneDNN's where they can run (XLA:CPU, the `onednn` extra installed, a C++ compiler to
    build them once) and compute the call (float32, NHWC, no dilation or groups), XLA's otherwise;
  - `onednn`: the same, but a learner refuses to start where they cannot run (`check`);
  - `xla`: XLA's always.
The choice changes the kernels, not the function: results agree to float32 rounding, both are deterministic
(a resumed run repeats its numbers), and the meter charges a oneDNN call the FLOPs of the XLA convolution
it replaces (`TWINS`, registered here), so a run's FLOP totals do not depend on it.
"""
from __future__ import annotations

import functools
from typing import Callable

import jax

from nevis.learners.nn import onednn_convolution
from nevis.metrics import custom_calls

MODES = ("auto", "xla", "onednn")

custom_calls.register_twins(onednn_convolution.TWINS)


def uses_onednn(mode: str) -> bool:
  """Whether convolutions that oneDNN computes go to it in this process."""
  return mode != "xla" and onednn_convolution.unavailable() is None


def kernels(mode: str, compute_dtype: str) -> str:
  """Which kernels a learner's convolutions get in this process, "onednn" or "xla": each task's notes record it
  (`info.convolutions` in the results), so a run resumed where the `onednn` extra is, or is not, installed
  shows which tasks ran on which."""
  return "onednn" if compute_dtype == "float32" and uses_onednn(mode) else "xla"


def check(mode: str) -> str | None:
  """Why `mode` cannot be honoured here (the problem and the fix, one line), or None."""
  if mode != "onednn":
    return None
  why = onednn_convolution.unavailable()
  if why is None:
    return None
  return f"cpu_convolutions: onednn cannot run here: {why}; install it or choose auto or xla"


@functools.cache
def conv_general_dilated(mode: str) -> Callable:
  """`lax.conv_general_dilated` for `nnx.Conv` (its `conv_general_dilated` argument) under `mode`. One function
  per mode, so that networks built alike have equal graph definitions (and share compilations)."""

  def convolve(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
               feature_group_count=1, batch_group_count=1, precision=None, preferred_element_type=None, **kwargs):
    if uses_onednn(mode) and onednn_convolution.supports(lhs, rhs, window_strides, dimension_numbers, lhs_dilation,
                                                          rhs_dilation, feature_group_count, batch_group_count,
                                                          preferred_element_type):
      stride = window_strides[0]
      return onednn_convolution.convolution(lhs, rhs, stride, onednn_convolution.pads(lhs.shape, rhs.shape, stride,
                                                                                      padding))
    return jax.lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                        dimension_numbers, feature_group_count, batch_group_count, precision,
                                        preferred_element_type, **kwargs)

  return convolve
