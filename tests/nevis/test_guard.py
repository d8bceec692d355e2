"""The compute guard: plain jax.jit is refused, eager JAX operations and declared helper work are metered or
reported, a learner that computes nothing is accepted with 0 FLOPs."""
from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nevis
from nevis import config as config_lib, guard
from nevis.runner import Runner

from . import hostile_learners, linear_learner  # noqa: F401  register the x_* learners, test_linear and test_colours


def run(tmp_path, learner="test_linear", name="w", **overrides):
  config = config_lib.resolve({"stream": "test_colours", "learner": learner, "stream_options": {"num_tasks": 2},
                               "imports": ["tests.nevis.linear_learner", "tests.nevis.hostile_learners"], **overrides})
  Runner(config, tmp_path / name, progress=False).run()
  return nevis.load_results(tmp_path / name)


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
  return run(tmp_path_factory.mktemp("linear"))


def test_a_learner_training_with_plain_jax_jit_is_refused(tmp_path):
  with pytest.raises(guard.MeteringError, match=r"ran _train_step \(.*linear_learner.py:\d+\) with plain jax.jit "
                                                 r"during train of task 'colours_0'"):
    run(tmp_path, "x_plain_jit")
  assert nevis.load_results(tmp_path / "w").meta["status"] == "failed"


@pytest.mark.parametrize("learner, during", [("x_compiles_when_built", "construction"),
                                             ("x_in_predict", "predict of task 'colours_0'"),
                                             ("x_prewarmed_jit", "train of task 'colours_0'"),
                                             ("x_swallowed", "train of task 'colours_0'")])
def test_plain_jit_is_refused_wherever_the_learner_runs_it(tmp_path, learner, during):
  with pytest.raises(guard.MeteringError, match=f"with plain jax.jit during {during}"):
    run(tmp_path, learner)


def test_plain_jit_in_prequential_scoring_is_refused(tmp_path):
  with pytest.raises(guard.MeteringError, match="during train \\(prequential scoring\\) of task 'colours_0'"):
    run(tmp_path, "x_plain_jit", prequential="blockwise")


def test_a_learner_that_computes_nothing_is_recorded_with_zero_flops(tmp_path):
  results = run(tmp_path, "x_zero")
  assert results.meta["status"] == "complete"
  t = results.tasks
  assert (t[["train_flops", "prequential_flops", "eval_flops", "eager_flops"]] == 0).all().all()
  assert list(t["error"]) == pytest.approx([2 / 3, 3 / 4])  # constant scores: always class 0


def test_zero_training_steps_are_accepted(tmp_path, linear):
  t = run(tmp_path, learner_options={"num_steps": 0}).tasks
  assert (t["train_flops"] == 0).all() and (t["eval_flops"] == linear.tasks["eval_flops"]).all()


def test_eager_operations_are_metered_in_the_category_being_charged(tmp_path, linear):
  t = run(tmp_path, "x_eager").tasks
  matmul = 2 * hostile_learners.EAGER_SIDE**3
  assert list(t["train_flops"] - linear.tasks["train_flops"]) == [matmul, matmul]
  assert list(t["eager_flops"] - linear.tasks["eager_flops"]) == [matmul, matmul]
  assert list(t["eval_flops"]) == list(linear.tasks["eval_flops"])


def test_declared_helper_work_is_reported_apart(tmp_path, linear):
  results = run(tmp_path, "x_helper")
  t = results.tasks
  assert list(t["train_flops"]) == list(linear.tasks["train_flops"])  # not in the compute columns
  helper = [json.loads(h) for h in t["unmetered"]]
  assert helper == [{"reasons": ["build a lookup table"], "calls": 1, "flops": 2.0 * 8**3}] * 2
  assert linear.tasks["unmetered"].isna().all()
  assert "unmetered helper work (declared, not in the FLOP columns): colours_0: 1 calls, 1024 FLOPs" in \
      nevis.report.format_report(results)


def test_the_guard_is_inert_outside_a_run(tmp_path, linear):
  """After a run, plain JAX in the same process is untouched: compiled, cached, and on the C++ fast path."""
  calls = []
  original = guard._pjit._pjit_call_impl_python

  def counting(*args, **kwargs):
    calls.append(1)
    return original(*args, **kwargs)

  f = jax.jit(lambda x: x * 5)
  guard._pjit._pjit_call_impl_python = counting
  try:
    assert [float(f(2.0)) for _ in range(3)] == [10.0] * 3
  finally:
    guard._pjit._pjit_call_impl_python = original
  assert len(calls) == 1  # the first call only: later ones ran from JAX's C++ cache


def test_the_jax_internals_the_guard_hooks_are_present():
  """The guard relies on these (jax 0.10); an upgrade that moves them must fail here, not silently."""
  assert guard._installed
  assert guard._pjit._get_fastpath_data.__name__ == "get_fastpath_data"
  assert guard._pjit._pjit_call_impl_python.__name__ == "pjit_call_impl_python"
  assert guard._stages.Compiled.__call__.__name__ == "__call__"
  assert hasattr(guard._pjit, "_cpp_pjit_cache_fun_only") and hasattr(guard._jax_config, "jax_jit_cpp_cache_obj")


def test_eager_jax_operations_are_classified_as_jax_library_code():
  """What the guard meters rather than refuses: functions in the jax package, single primitives included."""
  seen = []
  with guard.session(lambda kind, flops, reason: seen.append((kind, flops))):
    with guard.learner_code("probe", "train"):
      x = jnp.ones((4, 4))
      jnp.dot(x, x), jax.nn.relu(x), jax.random.normal(jax.random.key(0), (2,)), x.astype(jnp.int32)
    with pytest.raises(guard.MeteringError, match="ran <lambda>"):
      with guard.learner_code("probe", "train"):
        jax.jit(lambda a: a + 1)(np.ones(2))
  admitted = [flops for kind, flops in seen if kind == "admit"]  # asked before each runs (compute budgets)
  charged = [flops for kind, flops in seen if kind == "eager"]
  assert len(seen) == len(admitted) + len(charged) and admitted == charged and (2 * 4**3) in charged
