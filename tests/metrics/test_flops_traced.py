"""count_traced_flops (a count from an existing trace) and abstract_arguments, against count_flops and by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from nevis.metrics.flops import abstract_arguments, count_flops, count_traced_flops

D, ROWS, LENGTH = 16, 4, 3
ONE_MATMUL = 2 * ROWS * D * D


def scan_of_matmuls(w, x, length):
  def body(carry, _):
    return carry @ w, None

  return lax.scan(body, x, None, length=length)[0]


def test_count_from_a_trace_equals_count_flops_and_multiplies_loops():
  w, x = jnp.ones((D, D)), jnp.ones((ROWS, D))
  traced = jax.jit(scan_of_matmuls, static_argnums=2).trace(w, x, LENGTH)
  counted = count_traced_flops(traced)
  assert counted == count_flops(scan_of_matmuls, (w, x, LENGTH), static_argnums=2)
  assert counted == pytest.approx(LENGTH * ONE_MATMUL, rel=0.02)


def test_count_reads_a_given_cpu_lowering():
  w, x = jnp.ones((D, D)), jnp.ones((ROWS, D))
  traced = jax.jit(scan_of_matmuls, static_argnums=2).trace(w, x, LENGTH)
  assert count_traced_flops(traced, traced.lower()) == count_traced_flops(traced)


def test_abstract_arguments_keep_static_values_and_weak_types():
  def fn(a, n, *, b, flag):
    return a * n + b

  args, kwargs = abstract_arguments(
    fn, (np.ones((2, 3), np.float32), 5), {"b": jnp.asarray(1.0), "flag": True}, static_argnames="flag"
  )
  # `n` stays 5 because it is not static here: Python scalars are left for jit to trace.
  assert args == (jax.ShapeDtypeStruct((2, 3), np.float32), 5)
  assert kwargs["flag"] is True
  b = kwargs["b"]
  assert isinstance(b, jax.ShapeDtypeStruct) and b.shape == () and b.weak_type
  static_by_position, _ = abstract_arguments(fn, ({"k": jnp.ones(2)}, 5), {}, static_argnums=0)
  assert isinstance(static_by_position[0]["k"], jax.Array)
