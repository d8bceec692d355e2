import gzip
import struct

import numpy as np
import scipy.ndimage

from nevis.streams import splits


def _write_idx(manual, stem, images, labels):
  with gzip.open(manual / f"{stem}-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 2051, len(images), 28, 28) + images.tobytes())
  with gzip.open(manual / f"{stem}-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 2049, len(labels)) + labels.tobytes())


def test_mnist_rotation_rotates_train_only(manual, prepare):
  # a horizontal bar: any rotation other than 0/180 degrees moves it
  bar = np.zeros((28, 28), np.uint8)
  bar[12:16, 2:26] = 255
  train = np.stack([bar] * 20)
  test = np.stack([bar] * 5)
  _write_idx(manual, "train", train, (np.arange(20) % 10).astype(np.uint8))
  _write_idx(manual, "t10k", test, np.array([3, 1, 4, 1, 5], np.uint8))
  ds = prepare("mnist_rotation", image_size=28)
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 20, "test": 5}))
  test_split = ds.read("test")
  assert test_split.labels.tolist() == [3, 1, 4, 1, 5]
  assert np.array_equal(test_split.images[0, :, :, 0], bar)  # upright
  # train examples keep file order within a split: the first train image is file image 0
  plan = splits.recipe_train({"train": 20, "test": 5})
  first = int(plan["train"][0][1][0])
  angles = np.random.RandomState(99_999).randint(0, 360, size=20)
  expected = scipy.ndimage.rotate(bar, angles[first], reshape=False)
  stored = ds.read("train").images[0, :, :, 0]
  assert np.array_equal(stored, expected)
  assert not np.array_equal(stored, bar)
