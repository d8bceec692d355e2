"""Builders shared by this folder's handler tests: tiny images, archives, and a prepare-and-read helper."""
from __future__ import annotations

import dataclasses
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "dev_test", "test")


def image_bytes(value: int, fmt: str = "PNG", shape: tuple[int, ...] = (12, 16, 3)) -> bytes:
  """A flat image of grey level `value` encoded as `fmt` (PNG, JPEG, PPM, GIF...)."""
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full(shape, value, np.uint8)).save(buffer, format=fmt)
  return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  return path


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
  """A tar (mode "w", "w:gz") of regular files in the given order, with a directory entry per folder."""
  with tarfile.open(path, mode) as archive:
    folders: set[str] = set()
    for name in members:
      parts = name.split("/")[:-1]
      for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if folder not in folders:
          folders.add(folder)
          info = tarfile.TarInfo(folder)
          info.type = tarfile.DIRTYPE
          archive.addfile(info)
      info = tarfile.TarInfo(name)
      info.size = len(members[name])
      archive.addfile(info, io.BytesIO(members[name]))
  return path


def without_checksums(monkeypatch, module) -> None:
  """Fixture archives are not the real ones: drop the handler's checksums for this test."""
  handler = module.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(module, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))


def prepare(dataset: str, tmp_path: Path, manual: Path, image_size: int = 8):
  """Runs `nevis data prepare`'s path for `dataset` from `manual`; returns the store."""
  from nevis.store import Store
  from nevis.streams.prepare import NevisDataSource

  source = NevisDataSource(dataset, data_dir=str(tmp_path / "store"), image_size=image_size,
                           download_dir=str(tmp_path / "downloads"))
  source.prepare(manual_dir=str(manual))
  assert source.status() == "prepared"
  return Store(tmp_path / "store", image_size=image_size)


def split_counts(store, dataset: str) -> dict[str, int]:
  manifest = store.manifest(dataset)
  return {split: manifest["splits"][split]["count"] for split in SPLITS}


def grey_levels(store, dataset: str, split: str) -> list[int]:
  """The mean grey level of each stored image of a split, rounded: fixtures encode identity in it."""
  images = store.read(dataset, split).images
  return [int(round(float(image.mean()))) for image in images]


def level(label: int) -> int:
  """The grey level fixtures give images of class `label` (distinct after JPEG and resizing)."""
  return 20 + 9 * (label % 26)


def assert_levels_follow_labels(store, dataset: str) -> None:
  """Every stored image's grey level is the one its fixture label was drawn with."""
  for split in SPLITS:
    data = store.read(dataset, split)
    for image, label in zip(data.images, data.labels):
      assert abs(float(image.mean()) - level(int(label))) < 3, (split, int(label), float(image.mean()))


def all_labels(store, dataset: str) -> list[int]:
  return sorted(int(x) for split in SPLITS for x in store.read(dataset, split).labels)
