"""Shared steps of the h3 handler tests: image bytes, tar writing, and preparing through `nevis data`."""
import dataclasses
import io
import tarfile

import numpy as np

from nevis.store import Store
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")
IMAGE_SIZE = 8


def image_bytes(array, fmt="PNG"):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format=fmt)
  return buffer.getvalue()


def grey(value, shape=(12, 12), fmt="PNG"):
  return image_bytes(np.full(shape, value, np.uint8), fmt)


def add_to_tar(archive, name, data):
  info = tarfile.TarInfo(name)
  info.size = len(data)
  archive.addfile(info, io.BytesIO(data))


def prepare(dataset, module, tmp_path, monkeypatch):
  """Runs `nevis data prepare <dataset>` on tmp_path/manual with the handler's checksums dropped."""
  handler = module.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(module, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  root = tmp_path / "store"
  NevisDataSource(dataset, data_dir=str(root), image_size=IMAGE_SIZE).prepare(
      manual_dir=str(tmp_path / "manual"))
  return Store(root, image_size=IMAGE_SIZE)


def counts(store, dataset):
  manifest = store.manifest(dataset)
  return {s: manifest["splits"][s]["count"] for s in SPLITS}


def labels(store, dataset, split):
  return store.read(dataset, split).labels.tolist()


def means(store, dataset, split):
  """Mean pixel value per stored image (fixtures encode an id in a flat grey value)."""
  images = np.asarray(store.read(dataset, split).images, dtype=np.float64)
  return images.reshape(len(images), -1).mean(axis=1) if len(images) else np.zeros(0)


def manual_dir(tmp_path):
  path = tmp_path / "manual"
  path.mkdir(exist_ok=True)
  return path
