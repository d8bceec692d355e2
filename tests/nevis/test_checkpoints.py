"""Checkpoints: what orbax gives back, modelled in memory (`as_restored`), compared to the last detail
(`identical`), and written on a thread of its own (`BackgroundSave`)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis import checkpoints


def every_kind_of_leaf() -> dict:
  """A state with every kind of leaf and container a learner may return, keys out of order."""
  return {
      "z_weights": jnp.arange(6, dtype=jnp.float32).reshape(2, 3),
      "weak": jnp.asarray(1.5),  # weakly typed: comes back strongly typed
      "committed": jax.device_put(jnp.ones(2), jax.devices()[0]),
      "bf16": jnp.ones(3, jnp.bfloat16),
      "int8": jnp.arange(3, dtype=jnp.int8),
      "numpy": np.arange(3),
      "numpy_0d": np.array(2.0),
      "numpy_bool": np.array([True, False]),
      "np_float32": np.float32(0.1),  # comes back a Python float, exactly
      "np_int64": np.int64(-4),
      "np_uint8": np.uint8(3),
      "tuple": (np.ones(2), 3),  # comes back a list
      "python": [1, 2.5, True, "text", -0.0, float("nan"), None],
      "empty": {"dict": {}, "list": []},
      "a_first_key": {"b": 1, "a": 2},
  }


def test_as_restored_is_what_reading_the_checkpoint_gives(tmp_path):
  nested = {"nested": [[], [{}], (), ((),), ([],), (None,), (1, ())], "tuple": {"empty": ()}}
  for i, tree in enumerate([every_kind_of_leaf(), {}, {"only": {}}, nested]):
    expected = checkpoints.as_restored(tree)
    checkpoints.save_tree(tmp_path / f"c{i}", tree)
    assert checkpoints.identical(expected, checkpoints.load_tree(tmp_path / f"c{i}")), tree
  expected = checkpoints.as_restored(every_kind_of_leaf())
  assert list(expected) == sorted(every_kind_of_leaf())
  assert type(expected["np_float32"]) is float and expected["np_float32"] == float(np.float32(0.1))
  assert type(expected["tuple"]) is list and type(expected["np_uint8"]) is int
  assert not expected["weak"].weak_type and expected["z_weights"].committed


def test_as_restored_declines_trees_whose_round_trip_it_does_not_model():
  assert checkpoints.as_restored({"key": jax.random.key(0)}) is None  # typed PRNG keys
  assert checkpoints.as_restored({"x": {1: np.ones(2)}}) is None  # non-string keys
  assert checkpoints.as_restored({"x": [1 + 2j]}) is None  # complex Python numbers
  assert checkpoints.as_restored({"x": None}) == {"x": None}  # None is a leaf, not a refusal


@pytest.mark.parametrize("a, b", [
    (np.zeros(2, np.float32), np.zeros(2, np.float64)),
    (np.zeros(2), np.zeros((1, 2))),
    (np.array([0.0]), np.array([-0.0])),  # equal numbers, other bits
    (0.0, -0.0),
    (1, 1.0),
    (1, True),
    ([1], (1,)),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order
    (jnp.asarray(1.0), jnp.asarray(1.0, jnp.float32)),  # weak type
    (jnp.ones(2), jax.device_put(jnp.ones(2), jax.devices()[0])),  # committed or not
    (jnp.ones(2), np.ones(2, np.float32)),
])
def test_identical_sees_every_detail(a, b):
  assert not checkpoints.identical(a, b)
  assert checkpoints.identical(a, a) and checkpoints.identical(b, b)


def test_identical_holds_nan_equal_to_itself():
  assert checkpoints.identical([float("nan"), np.array([np.nan])], [float("nan"), np.array([np.nan])])


def test_background_save_writes_reads_back_and_raises_its_errors(tmp_path):
  tree = every_kind_of_leaf()
  pending = checkpoints.BackgroundSave(tmp_path / "state_0", tree)
  restored = pending.result()
  assert checkpoints.identical(restored, checkpoints.load_tree(tmp_path / "state_0"))
  assert checkpoints.identical(restored, checkpoints.as_restored(tree))
  (tmp_path / "file").write_text("not a folder")
  failing = checkpoints.BackgroundSave(tmp_path / "file" / "state_1", tree)
  failing.wait()  # waits without raising
  with pytest.raises(OSError):
    failing.result()


def test_numpy_bool_scalars_are_named_as_unsaveable():
  assert checkpoints.unsaveable_leaf({"flag": np.bool_(True)}) == (
      "state['flag'] is a NumPy bool scalar (use bool(...) or a NumPy array)")
  assert checkpoints.unsaveable_leaf({"flags": np.array([True]), "flag": True}) is None
