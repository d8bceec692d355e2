"""Custom calls charged as their registered twins; each distinct call counted once per process."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis.metrics import custom_calls, flops

TARGET = "nevis_test_scaling_kernel"


@pytest.fixture
def traced_twins(monkeypatch):
  """Registers a twin for TARGET (x * factor: one FLOP per element) that records each trace of it."""
  traces = []

  def twin(results, x, *, factor):
    factor = getattr(factor, "val", factor)  # ffi_call wraps array attributes in a HashableArray
    traces.append((x.shape, factor.item()))
    return x * factor

  monkeypatch.setattr(custom_calls, "GROUP_COUNTS", {})
  monkeypatch.setattr(custom_calls, "OWN_COUNTS", {})
  monkeypatch.setitem(custom_calls._TWINS, TARGET, twin)
  return traces


def _scaled(x, factor):
  # Plus one (a FLOP per element) so that XLA's count of a function keeps positive: it counts each custom
  # call as -1, and a negative total reads as "unknown".
  return jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct(x.shape, x.dtype))(x, factor=factor) + 1.0


def test_each_call_is_charged_its_twin_and_repeats_are_not_lowered_again(traced_twins):
  def fn(x, y):
    return _scaled(x, np.float32(2)), _scaled(x, np.float32(2)), _scaled(y, np.float32(2))

  x, y = jnp.ones(4), jnp.ones(8)
  assert flops.count_flops(fn, (x, y)) == 2 * (4 + 4 + 8)  # the twins' products and the additions
  assert sorted(traced_twins) == [((4,), 2.0), ((8,), 2.0)]  # the second (4,) call reused the first's count
  assert flops.count_flops(fn, (x, y)) == 32  # another count, e.g. the next task's signature
  assert len(traced_twins) == 2


def test_calls_differing_in_an_attribute_or_its_dtype_are_counted_apart(traced_twins):
  x = jnp.ones(4)
  flops.count_flops(lambda x: _scaled(x, np.float32(2)), (x,))
  flops.count_flops(lambda x: _scaled(x, np.float32(3)), (x,))
  flops.count_flops(lambda x: _scaled(x, np.int32(2)), (x,))
  assert traced_twins == [((4,), 2.0), ((4,), 3.0), ((4,), 2)]


def test_a_call_with_an_array_attribute_is_counted(traced_twins):
  x = jnp.ones(4)
  assert flops.count_flops(lambda x: _scaled(x, np.full((), 2.0, np.float32)), (x,)) == 8
  assert flops.count_flops(lambda x: _scaled(x, np.full((), 2.0, np.float32)), (x,)) == 8
  assert len(traced_twins) == 1


def test_calls_of_one_multiplicity_are_counted_in_one_lowering(traced_twins, monkeypatch):
  lowerings = []
  original = flops._lower_for_cpu
  monkeypatch.setattr(flops, "_lower_for_cpu", lambda traced: lowerings.append(1) or original(traced))

  def fn(*xs):
    return [_scaled(x, np.float32(2)) for x in xs]

  xs = [jnp.ones(n) for n in (1, 2, 3, 4, 5)]
  assert flops.count_flops(fn, tuple(xs)) == 2 * (1 + 2 + 3 + 4 + 5)
  assert len(lowerings) == 3  # the function, the five twins together, and one call alone (XLA's -1, per target)
  assert flops.count_flops(fn, tuple(xs)) == 30
  assert len(lowerings) == 4  # the function again; the twins' count is kept


def test_calls_in_loops_and_branches_are_charged_per_execution(traced_twins):
  x = jnp.ones(4)

  def scanned(x):  # three executions of one call (the twin's 4 FLOPs and the added one's 4), and one more outside
    y, _ = jax.lax.scan(lambda carry, _: (_scaled(carry, np.float32(2)), None), x, None, length=3)
    return _scaled(y, np.float32(2))

  assert flops.count_flops(scanned, (x,)) == 4 * 8
  assert len(traced_twins) == 1  # one key, multiplicity 4

  def branched(x, i):  # a cond costs its most expensive branch: two calls against one
    return jax.lax.cond(i > 0, lambda x: _scaled(_scaled(x, np.float32(2)), np.float32(2)),
                        lambda x: _scaled(x, np.float32(2)), x)

  assert flops.count_flops(branched, (x, 1)) == 2 * 8 + 2  # and the comparison, converted to a branch index


def test_xla_counts_a_custom_call_as_minus_one_whatever_its_operands():
  # Why XLA's own count of a call is read once per target (custom_calls.OWN_COUNTS), not per shape.
  for shape, dtype, factor in (((4,), jnp.float32, np.float32(2)), ((3, 64), jnp.bfloat16, np.int64(7))):
    lowered = jax.jit(lambda x: _scaled(x, factor) - 1.0).lower(jax.ShapeDtypeStruct(shape, dtype))
    assert lowered.cost_analysis()["flops"] == 2 * np.prod(shape) - 1  # the addition, the subtraction, and -1
