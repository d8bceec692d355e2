"""The compute meter counts each signature from the trace (and on CPU the lowering) its call then reuses."""

from __future__ import annotations

import collections
import contextlib
from typing import Iterator

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from nevis.meter import ComputeMeter
from nevis.metrics.flops import count_flops

D, ROWS = 16, 4
# (4x16) @ (16x16): 2 FLOPs per multiply-add; then one multiply per output element.
MATMUL_THEN_SCALE = 2 * ROWS * D * D + ROWS * D


@contextlib.contextmanager
def compile_events() -> Iterator[collections.Counter]:
  """Counts JAX's trace, lowering and compilation events while open."""
  counts: collections.Counter = collections.Counter()

  def listener(event: str, duration: float, **kwargs) -> None:
    counts[event.rsplit("/", 1)[-1]] += 1

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield counts
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)


def matmul_then_scale(runs: list):
  def step(w, x, scale):
    runs.append(1)  # once per trace
    return (x @ w) * scale

  return step


def inputs():
  return jnp.ones((D, D)), jnp.ones((ROWS, D))


def test_count_and_first_call_share_one_trace_and_one_lowering_on_cpu():
  runs: list = []
  meter = ComputeMeter()
  step = meter.jit(matmul_then_scale(runs))
  w, x = inputs()
  with compile_events() as events:
    step(w, x, 2.0)
  assert len(runs) == 1
  assert events["jaxpr_trace_duration"] == 1
  assert events["jaxpr_to_mlir_module_duration"] == 1
  assert events["backend_compile_duration"] == 1
  with compile_events() as events:
    step(w, x, 3.0)
  assert len(runs) == 1 and not events
  assert meter.totals.flops["train"] == 2 * MATMUL_THEN_SCALE
  assert meter.signatures == 1 and meter.totals.calls == 2


def test_committed_arguments_share_the_trace_and_count_the_same():
  # A committed array annotates the call's lowering with its sharding, so the count lowers apart.
  runs: list = []
  meter = ComputeMeter()
  step = meter.jit(matmul_then_scale(runs))
  w, x = inputs()
  w = jax.device_put(w, jax.devices("cpu")[0])
  assert w.committed
  with compile_events() as events:
    step(w, x, 2.0)
  assert len(runs) == 1 and events["jaxpr_trace_duration"] == 1
  assert events["jaxpr_to_mlir_module_duration"] == 2
  assert meter.totals.flops["train"] == MATMUL_THEN_SCALE


def test_placement_options_count_as_a_plain_jit():
  # The executing jit's out_shardings would change XLA's count (by one FLOP here); the count ignores them.
  meter = ComputeMeter()
  cpu = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
  step = meter.jit(matmul_then_scale([]), out_shardings=cpu)
  step(*inputs(), 2.0)
  assert meter.totals.flops["train"] == MATMUL_THEN_SCALE


def test_loops_static_and_keyword_arguments_count_as_count_flops():
  def scan_of_matmuls(w, x, length, *, scale):
    def body(carry, _):
      return carry @ w, None

    return lax.scan(body, x * scale, None, length=length)[0]

  meter = ComputeMeter()
  step = meter.jit(scan_of_matmuls, static_argnums=2, donate_argnums=1)
  w, x = inputs()
  with meter.charging("eval"):
    step(w, jnp.ones((ROWS, D)), 3, scale=2.0)
  expected = count_flops(scan_of_matmuls, (w, x, 3), {"scale": 2.0}, static_argnums=2)
  assert meter.totals.flops["eval"] == expected
  assert expected == pytest.approx(3 * 2 * ROWS * D * D, rel=0.02)


def test_a_call_inside_another_trace_is_counted():
  meter = ComputeMeter()
  step = meter.jit(matmul_then_scale([]))
  outer = jax.jit(lambda w, x: step(w, x, 2.0).sum())
  outer(*inputs())
  assert meter.totals.flops["train"] == MATMUL_THEN_SCALE


def test_calls_from_many_threads_are_all_charged_and_a_new_signature_counted_once():
  import threading

  import numpy as np

  meter = ComputeMeter()
  fn = meter.jit(lambda x, w: (x @ w) * 2.0)
  x, w = np.ones((ROWS, D), np.float32), np.ones((D, D), np.float32)
  start = threading.Barrier(8)

  def calls():
    start.wait()  # all threads meet the new signature together
    for _ in range(50):
      fn(x, w)

  threads = [threading.Thread(target=calls) for _ in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert meter.totals.calls == 400
  assert meter.signatures == 1
  assert meter.totals.flops["train"] == 400 * MATMUL_THEN_SCALE
