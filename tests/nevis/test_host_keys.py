"""The run's keys computed on the host are JAX's, bit for bit, and cost no compilation."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from nevis import host_keys


@pytest.mark.parametrize("seed", [0, 1, 2**31 - 1, 2**31, 2**32 - 1])
def test_root_key_is_prng_key(seed):
  key = host_keys.root_key(seed)
  assert isinstance(key, np.ndarray) and key.dtype == np.uint32
  assert key.tolist() == np.asarray(jax.random.PRNGKey(seed)).tolist()


def test_fold_in_is_jax_fold_in():
  rng = np.random.default_rng(0)
  keys = [np.array(k, np.uint32) for k in [(0, 0), (0, 7), (2**32 - 1, 2**32 - 1)]]
  keys += list(rng.integers(0, 2**32, (100, 2), dtype=np.uint64).astype(np.uint32))
  data = [0, 1, 5, 2**20, 2**31, 2**32 - 1] + [int(d) for d in rng.integers(0, 2**32, 97)]
  for key, datum in zip(keys, data * 2):
    ours, theirs = host_keys.fold_in(key, datum), jax.random.fold_in(key, datum)
    assert np.asarray(ours).tolist() == np.asarray(theirs).tolist(), (key, datum)
    assert (ours.dtype, ours.shape, ours.weak_type, ours.committed) == (theirs.dtype, theirs.shape,
                                                                         theirs.weak_type, theirs.committed)


def test_the_run_keys_compile_nothing():
  compiled = []
  jax.monitoring.register_event_duration_secs_listener(
      lambda event, duration, **kw: compiled.append(kw.get("fun_name")) if "backend_compile" in event else None)
  root = host_keys.root_key(123)
  for position in range(3):
    host_keys.fold_in(root, position)
  assert compiled == []


def test_other_prng_implementations_are_left_to_jax(monkeypatch):
  monkeypatch.setattr(host_keys, "_threefry", lambda: False)
  assert np.asarray(host_keys.root_key(3)).tolist() == np.asarray(jax.random.PRNGKey(3)).tolist()
  assert np.array_equal(host_keys.fold_in(np.array([0, 3], np.uint32), 4),
                        jax.random.fold_in(jax.random.PRNGKey(3), 4))
