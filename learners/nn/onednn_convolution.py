"""2-D convolutions by oneDNN on CPU, as XLA FFI custom calls: what PyTorch's CPU convolutions run on.

Why: at the shapes of the `mini` recipe (batch 16, 3x3 kernels, 16-64 channels) XLA:CPU's own convolution
kernels (Eigen's, YNNPACK's) run at about 0.6x oneDNN's speed on two cores, the whole of the train step's gap
to PyTorch (`benchmarks/conv_kernels.py`). XLA:CPU can hand convolutions to oneDNN only when jaxlib is built
with it, and the released wheels are not.

What: `convolution(x, kernel, stride, padding)` is `lax.conv_general_dilated` for NHWC inputs, HWIO kernels,
float32, no dilation or groups, with its gradients (oneDNN's backward-data and backward-weights primitives).
The C++ handlers (`onednn_convolution.cc`) are compiled on first use, once per source, jaxlib and oneDNN,
into a cache folder (`NEVIS_KERNEL_CACHE`, else the user cache's `nevis/kernels`), against the oneDNN that the
`onednn` extra installs (`pip install "nevis[onednn]"`: oneDNN's GNU-OpenMP build and its headers) and the
XLA FFI headers in jaxlib. `unavailable()` says in one line why they cannot be used (no oneDNN, no C++
compiler, a failed build), and callers then keep XLA's convolutions.

`TWINS` gives, for each custom call, the same computation in XLA operations: a FLOP counter that cannot see
into a custom call counts its twin instead.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

SOURCE = Path(__file__).with_suffix(".cc")
FORWARD = "nevis_onednn_convolution_forward"
BACKWARD_DATA = "nevis_onednn_convolution_backward_data"
BACKWARD_WEIGHTS = "nevis_onednn_convolution_backward_weights"
_SYMBOLS = {FORWARD: "NevisOnednnConvolutionForward", BACKWARD_DATA: "NevisOnednnConvolutionBackwardData",
            BACKWARD_WEIGHTS: "NevisOnednnConvolutionBackwardWeights"}
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")
INSTALL = 'pip install "nevis[onednn]"'
_LOAD_LOCK = threading.Lock()  # learners may trace on several threads (parallel trials): one build, one registration


def _prefix() -> Path:
  """Where the `onednn` extra's wheels put oneDNN (their data lands in the environment's prefix)."""
  return Path(os.environ.get("NEVIS_ONEDNN_PREFIX") or sys.prefix)


def _cache() -> Path:
  folder = os.environ.get("NEVIS_KERNEL_CACHE")
  if folder:
    return Path(folder)
  import platformdirs

  return Path(platformdirs.user_cache_dir("nevis")) / "kernels"


def _build() -> Path:
  """The compiled handlers, built if this source, jaxlib, oneDNN and compiler have not been built before."""
  prefix = _prefix()
  headers, library = prefix / "include", prefix / "lib"
  version = headers / "oneapi" / "dnnl" / "dnnl_version.h"
  if not version.exists() or not any(library.glob("libdnnl.so*")):
    raise RuntimeError(f"oneDNN is not installed in {prefix} (`{INSTALL}`)")
  compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
  if not compiler:
    raise RuntimeError("no C++ compiler (c++ or g++ on PATH, or CXX) to build the oneDNN convolutions")
  ffi_headers = jax.ffi.include_dir()
  digest = hashlib.sha256()
  for part in (SOURCE.read_bytes(), version.read_bytes(), jax.__version__.encode(), compiler.encode(),
               str(library).encode()):
    digest.update(part)
  target = _cache() / f"onednn_convolution-{digest.hexdigest()[:16]}.so"
  if target.exists():
    return target
  target.parent.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
    built = Path(scratch) / target.name
    command = [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-w", f"-I{headers}", f"-I{ffi_headers}",
               str(SOURCE), f"-L{library}", "-ldnnl", f"-Wl,-rpath,{library}", "-o", str(built)]
    try:
      result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
      raise RuntimeError(f"the C++ compiler {compiler!r} could not be run: {error}") from error
    if result.returncode != 0:
      first = (result.stderr.strip().splitlines() or ["no output"])[0]
      raise RuntimeError(f"building the oneDNN convolutions failed: {first[:200]}")
    os.replace(built, target)  # atomic: a concurrent build of the same file leaves one whole copy
  return target


def _load() -> str | None:
  """Builds, loads and registers the handlers once per process; None, or why they cannot be used."""
  with _LOAD_LOCK:
    return _load_once()


@functools.cache
def _load_once() -> str | None:
  try:
    library = ctypes.cdll.LoadLibrary(str(_build()))
  except (RuntimeError, OSError) as error:
    return str(error).splitlines()[0]
  for target, symbol in _SYMBOLS.items():
    jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(library, symbol)), platform="cpu")
  return None


def unavailable() -> str | None:
  """None when the oneDNN convolutions can run in this process, else one line saying why not."""
  if jax.default_backend() != "cpu":
    return f"the oneDNN convolutions are for XLA:CPU; this process runs on {jax.default_backend()}"
  if jax.device_count() > 1:
    # A custom call has no partitioning rule: in a step sharded over several devices XLA would have to gather
    # around it (and with two host devices the collectives stalled).
    return f"the oneDNN convolutions run on one device; this process has {jax.device_count()}"
  return _load()


def supports(x: jax.Array, kernel: jax.Array, window_strides, dimension_numbers, lhs_dilation, rhs_dilation,
             feature_group_count: int, batch_group_count: int, preferred_element_type) -> bool:
  """Whether `lax.conv_general_dilated` with these arguments is one that `convolution` computes."""
  if x.ndim != 4 or len(set(window_strides)) != 1:  # 2-D, the same stride both ways
    return False
  expected = jax.lax.conv_dimension_numbers(x.shape, kernel.shape, _DIMENSIONS)
  given = jax.lax.conv_dimension_numbers(x.shape, kernel.shape, dimension_numbers)
  return (x.dtype == kernel.dtype == jnp.float32 and given == expected and preferred_element_type is None
          and all(d == 1 for d in (*(lhs_dilation or ()), *(rhs_dilation or ())))
          and feature_group_count == 1 and batch_group_count == 1)


def _attributes(stride: int, padding) -> dict[str, np.int64]:
  (top, bottom), (left, right) = padding
  return {"stride": np.int64(stride), "top": np.int64(top), "left": np.int64(left), "bottom": np.int64(bottom),
          "right": np.int64(right)}


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def convolution(x: jax.Array, kernel: jax.Array, stride: int, padding: tuple) -> jax.Array:
  """`lax.conv_general_dilated(x, kernel, (stride, stride), padding)`, NHWC x HWIO -> NHWC, by oneDNN.
  `padding`: ((top, bottom), (left, right)). Call only where `unavailable()` is None."""
  (top, bottom), (left, right) = padding
  height = (x.shape[1] + top + bottom - kernel.shape[0]) // stride + 1
  width = (x.shape[2] + left + right - kernel.shape[1]) // stride + 1
  out = jax.ShapeDtypeStruct((x.shape[0], height, width, kernel.shape[3]), x.dtype)
  return jax.ffi.ffi_call(FORWARD, out)(x, kernel, **_attributes(stride, padding))


def _forward(x, kernel, stride, padding):
  # Symbolic zeros: `perturbed` says which inputs need a gradient, so that the backward pass computes only
  # those (an image's gradient is never needed, and its cost would otherwise be counted).
  y = convolution(x.value, kernel.value, stride, padding)
  return y, (x.value, kernel.value, x.perturbed, kernel.perturbed)


def _backward(stride, padding, residuals, dy):
  x, kernel, x_needed, kernel_needed = residuals
  attributes = _attributes(stride, padding)
  dx = dk = None
  if x_needed:
    dx = jax.ffi.ffi_call(BACKWARD_DATA, jax.ShapeDtypeStruct(x.shape, x.dtype))(dy, kernel, **attributes)
  if kernel_needed:
    dk = jax.ffi.ffi_call(BACKWARD_WEIGHTS, jax.ShapeDtypeStruct(kernel.shape, kernel.dtype))(x, dy, **attributes)
  return dx, dk


convolution.defvjp(_forward, _backward, symbolic_zeros=True)


def pads(x_shape, kernel_shape, stride: int, padding) -> tuple:
  """`padding` as `lax.conv_general_dilated` takes it ("SAME", "VALID" or pairs) -> ((top, bottom), (left, right))."""
  if isinstance(padding, str):
    padding = jax.lax.padtype_to_pads(x_shape[1:3], kernel_shape[:2], (stride, stride), padding)
  return tuple((int(low), int(high)) for low, high in padding)


# --- the same computations in XLA operations (for FLOP counting) ----------------------------------------------


def _xla_convolution(x, kernel, stride, top, left, bottom, right):
  return jax.lax.conv_general_dilated(x, kernel, (int(stride),) * 2, ((int(top), int(bottom)), (int(left), int(right))),
                                      dimension_numbers=_DIMENSIONS)


def _forward_twin(result_shapes, x, kernel, **attributes):
  return _xla_convolution(x, kernel, **attributes)


def _backward_data_twin(result_shapes, dy, kernel, **attributes):
  x = jax.ShapeDtypeStruct(result_shapes[0].shape, result_shapes[0].dtype)
  return jax.linear_transpose(lambda x: _xla_convolution(x, kernel, **attributes), x)(dy)[0]


def _backward_weights_twin(result_shapes, x, dy, **attributes):
  kernel = jax.ShapeDtypeStruct(result_shapes[0].shape, result_shapes[0].dtype)
  return jax.linear_transpose(lambda kernel: _xla_convolution(x, kernel, **attributes), kernel)(dy)[0]


# custom call -> fn(result shapes, *operands, **attributes): its result computed by XLA's own operations
TWINS = {FORWARD: _forward_twin, BACKWARD_DATA: _backward_data_twin, BACKWARD_WEIGHTS: _backward_weights_twin}
