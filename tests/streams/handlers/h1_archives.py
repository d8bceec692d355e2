"""Tiny source archives in the original formats, and the common prepare-and-read steps of the h1 tests."""
import dataclasses
import io
import tarfile
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")
IMAGE_SIZE = 8


def encoded(array, format, **options):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format=format, **options)
  return buffer.getvalue()


def grey(value, shape=(12, 12)):
  return np.full(shape, value, np.uint8)


def colour(value, shape=(12, 12, 3)):
  return np.full(shape, value, np.uint8)


def write_zip(path, members):
  """members: {name: bytes}, written in the given order (a name ending in '/' is a directory)."""
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  return path


def write_tar(path, members, mode="w:gz"):
  with tarfile.open(path, mode) as archive:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  return path


def without_checksums(monkeypatch, module, keep=None):
  """Fixture archives are not the real ones: drop the checksums (and keep only artefacts in `keep`)."""
  handler = module.HANDLER
  artefacts = tuple(
      dataclasses.replace(a, checksum=None) for a in handler.artefacts if keep is None or a.filename in keep
  )
  monkeypatch.setattr(module, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))


def prepare(dataset, store_root, manual):
  NevisDataSource(dataset, data_dir=str(store_root), image_size=IMAGE_SIZE).prepare(manual_dir=str(manual))
  return Store(store_root, image_size=IMAGE_SIZE)


def counts(store, dataset):
  manifest = store.manifest(dataset)
  return {s: manifest["splits"][s]["count"] for s in SPLITS}


def value_label_pairs(store, dataset, splits=SPLITS):
  """Sorted (mean grey value, label) of every stored image of the given splits."""
  pairs = []
  for split in splits:
    data = store.read(dataset, split)
    pairs += [(int(round(float(image.mean()))), int(label)) for image, label in zip(data.images, data.labels)]
  return sorted(pairs)
