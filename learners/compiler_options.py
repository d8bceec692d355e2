"""XLA compiler options of the learners' compiled functions: on CPU, convolutions by Eigen, not YNNPACK.

XLA:CPU (jaxlib 0.10) hands convolutions, dots and reductions to YNNPACK by default. At the shapes of the
`mini` recipe (batch 16, 16x16x32 and 8x8x64 activations) a YNNPACK convolution runs on one thread: it
takes as long pinned to one core as with two. Eigen's convolution, which XLA uses when YNNPACK does not take
them, splits each one over the intra-op thread pool. On 2 cores, the `mini` train step compiled both ways
and timed interleaved in one process: 1421 -> 1646 images/s at batch 16 (+16 %), 789 -> 891 at batch 64;
`benchmarks/train_throughput.py` prints both (`nevis step`, `nevis step, XLA defaults`). Reductions stay
with YNNPACK (without it for them the step ran at 0.70x), and so do dots (XLA's default, not re-measured).

The option changes which kernels run, not what is computed: results agree to float32 rounding (sums in
another order), and each kernel is deterministic, so a resumed run repeats its numbers. Only CPU
compilations get it, and only with the jaxlib releases it was measured on (0.10.x; older ones lack the
option, newer ones may change the default list it replaces): elsewhere the functions compile with XLA's
defaults. No test compile decides it: learners compile only through the metered `task.jit`.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jaxlib

_CPU_OPTIONS = {
    # YNNPACK keeps reductions and dots; convolutions (LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION, in the
    # default list) go to Eigen, multi-threaded.
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
}


@functools.cache
def compiler_options() -> dict[str, Any]:
  """The options for this process's default backend: the CPU ones above, or none."""
  if jax.default_backend() != "cpu" or not _measured_release(jaxlib.__version__):
    return {}
  return dict(_CPU_OPTIONS)


def _measured_release(version: str) -> bool:
  return version.split(".")[:2] == ["0", "10"]


def jit_options(**jit_kwargs) -> dict[str, Any]:
  """`jit_kwargs` with this backend's compiler options added (for `task.jit(fn, **jit_options(...))`)."""
  options = compiler_options()
  return {**jit_kwargs, "compiler_options": options} if options else dict(jit_kwargs)
