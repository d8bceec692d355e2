"""MNIST-rot: MNIST whose training digits are rotated by a random angle; the test digits stay upright.

The four idx files of MNIST (gzip). Each training image is rotated by an integer angle in [0, 360) drawn
from a RandomState seeded 99999, one draw per image in file order, with scipy's spline rotation keeping
the 28x28 frame (dm_nevis handlers/mnist_rotation.py). dm_nevis draws from numpy's global generator once
per pass over the data, so its angles are not bit-for-bit reproducible; this handler draws once.
Split recipe T: the official training set 70/15/15, the official test set as test.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
ROTATION_SEED = 99_999
_IMAGE_HEADER_BYTES = 16
_LABEL_HEADER_BYTES = 8
# yann.lecun.com (NEVIS's source) now answers 403; this mirror serves the identical files.
_MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_MD5 = {
    TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}


def read_idx(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
  with gzip.open(images_path, "rb") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=_IMAGE_HEADER_BYTES).reshape(-1, 28, 28)
  with gzip.open(labels_path, "rb") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=_LABEL_HEADER_BYTES)
  if len(images) != len(labels):
    raise ValueError(f"{images_path.name}: {len(images)} images but {len(labels)} labels")
  return images, labels


def rotated(images: np.ndarray, seed: int = ROTATION_SEED) -> Iterator[np.ndarray]:
  import scipy.ndimage

  rng = np.random.RandomState(seed)
  for image in images:
    yield scipy.ndimage.rotate(image, rng.randint(0, 360), reshape=False)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def train():
    images, labels = read_idx(paths[TRAIN_IMAGES], paths[TRAIN_LABELS])
    for image, label in zip(rotated(images), labels):
      yield Example(image, int(label))

  def test():
    images, labels = read_idx(paths[TEST_IMAGES], paths[TEST_LABELS])
    for image, label in zip(images, labels):
      yield Example(image, int(label))

  return Extracted([str(d) for d in range(10)], {"train": train(), "test": test()})


HANDLER = Handler(
    name="mnist_rotation",
    artefacts=tuple(Artefact(name, url=_MIRROR + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
)
