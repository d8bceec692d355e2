"""The data a learner sees: reproducible, resumable batches that cover every example once per epoch."""
import numpy as np
import pytest

from nevis.protocol import DataView, padded_batches
from nevis.task import SplitData


def view(n):
  images = np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1).repeat(3, axis=3)
  return DataView(SplitData(images, np.arange(n, dtype=np.int32)), 3, False)


@pytest.mark.parametrize("n, batch", [(100, 16), (37, 5), (16, 16), (10, 16), (3, 8)])
def test_every_epoch_is_a_permutation(n, batch):
  v = view(n)
  flat = np.concatenate([v.batch_at(step, batch, seed=3)["index"] for step in range(40)])
  for epoch in range(len(flat) // n):
    assert sorted(flat[epoch * n : (epoch + 1) * n]) == list(range(n))
  b = v.batch_at(5, batch, seed=3)
  np.testing.assert_array_equal(b["labels"], b["index"])  # labels travel with their images
  np.testing.assert_array_equal(b["images"][:, 0, 0, 0], b["index"])


def test_batches_are_a_pure_function_of_seed_and_step():
  a, b = view(50), view(50)
  for step in (7, 0, 3, 12):  # any order, any object
    np.testing.assert_array_equal(a.batch_at(step, 8, seed=1)["index"], b.batch_at(step, 8, seed=1)["index"])
  assert not np.array_equal(a.batch_at(0, 8, seed=1)["index"], a.batch_at(0, 8, seed=2)["index"])
  resumed = b.batches(8, seed=1, start_step=4)
  for step in range(4, 9):
    np.testing.assert_array_equal(next(resumed)["index"], a.batch_at(step, 8, seed=1)["index"])


def test_padded_batches_cover_every_row_once():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  batches = list(padded_batches(images, np.arange(10), 4))
  assert [len(b["images"]) for b in batches] == [4, 4, 4]
  real = np.concatenate([b["labels"][b["mask"]] for b in batches])
  np.testing.assert_array_equal(real, np.arange(10))
