"""The fixture kit of the handler tests: tiny sources in their real layout, prepared the way `nevis data` does.

A handler test writes what a source publishes (zips, tars, folders of PNG/JPEG/PPM/GIF/BMP/TIFF images, CSV and
text lists, .mat files) into `manual` with the encoders and archive writers below, prepares the dataset with
the `prepare` fixture, and checks the store through the `PreparedDataset` it returns: split sizes, labels,
class names, and the grey level each fixture image was drawn with (flat images carry their identity in it).

    def test_aberdeen(manual, prepare):
      write_zip(manual / "Aberdeen.zip", {"neil1.jpg": flat(10, "JPEG"), ...})
      ds = prepare("aberdeen")
      assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 7}))
      assert ds.pairs() == [(10, 0), ...]

Fixtures (tests/streams/conftest.py makes them visible to every test under tests/streams):
  store_root  the store's folder; $NEVIS_DATA_DIR points at it and $NEVIS_DOWNLOAD_DIR next to it
  manual      an empty folder for --manual-dir
  prepare     prepare(dataset, *, image_size=8, checksums=False, keep=None, manual_dir=None) -> PreparedDataset
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nevis.streams import handlers
from nevis.streams.prepare import NevisDataSource
from nevis.streams.store import Store
from nevis.task import SPLITS

GREY = (12, 12)
COLOUR = (12, 12, 3)


# Images.


def encode(array, fmt: str = "PNG", **options) -> bytes:
  """`array` (HxW grey or HxWx3 colour) as an image file's bytes in `fmt`; JPEG at quality 95 unless told."""
  from PIL import Image

  if fmt == "JPEG":
    options.setdefault("quality", 95)
  buffer = io.BytesIO()
  Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format=fmt, **options)
  return buffer.getvalue()


def flat(value: int, fmt: str = "PNG", shape: tuple[int, ...] = GREY, **options) -> bytes:
  """A flat image of grey level `value` (shape GREY or COLOUR, or any other) encoded as `fmt`."""
  return encode(np.full(shape, value, np.uint8), fmt, **options)


def level(label: int) -> int:
  """The grey level fixtures give images of class `label` (distinct after JPEG and resizing)."""
  return 20 + 9 * (label % 26)


# Archives.


@dataclasses.dataclass(frozen=True)
class Link:
  """A symbolic link, as a tar member: `members[name] = Link(target)`."""

  target: str


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
  """A zip of `members` {name: data} in the given order; a name ending in "/" is a folder entry."""
  with zipfile.ZipFile(path, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  return path


def tar_bytes(members: dict[str, bytes | Link], *, mode: str = "w", folders: bool = False) -> bytes:
  """A tar of `members` {name: bytes or Link} in the given order. With `folders`, each folder gets a
  directory entry before its first member, as `tar` writes them."""
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode=mode) as archive:
    written: set[str] = set()
    for name, data in members.items():
      parts = name.split("/")[:-1]
      for folder in ("/".join(parts[:depth]) for depth in range(1, len(parts) + 1)):
        if folders and folder not in written:
          written.add(folder)
          info = tarfile.TarInfo(folder)
          info.type = tarfile.DIRTYPE
          archive.addfile(info)
      info = tarfile.TarInfo(name)
      if isinstance(data, Link):
        info.type, info.linkname = tarfile.SYMTYPE, data.target
        archive.addfile(info)
      else:
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def write_tar(path: Path, members: dict[str, bytes | Link], *, folders: bool = False) -> Path:
  """`tar_bytes(members)` written to `path`, gzipped when the name ends in .gz or .tgz."""
  mode = "w:gz" if path.name.endswith((".gz", ".tgz")) else "w"
  path.write_bytes(tar_bytes(members, mode=mode, folders=folders))
  return path


def coil_zip(path: Path, folder: str, objects, views, *, colour: bool) -> Path:
  """coil-20-proc.zip / coil-100.zip: <folder>/obj<o>__<v>.png, grey level 10 * o % 256, and a Thumbs.db."""
  shape = (16, 16, 3) if colour else (16, 16)
  members = {f"{folder}/obj{o}__{v}.png": flat(o * 10 % 256, "PNG", shape) for o in objects for v in views}
  return write_zip(path, {**members, f"{folder}/Thumbs.db": b"junk"})


# Preparing.


def handler_module(dataset: str):
  """The module defining the HANDLER that prepares `dataset`."""
  name = NevisDataSource(dataset).handler_name()
  assert name is not None, f"{dataset} has no handler"
  return importlib.import_module(f"{handlers.__name__}.{handlers.HANDLER_MODULES[name]}")


def without_checksums(monkeypatch, module, keep=None) -> None:
  """Fixture archives are not the real ones: drop the checksums of `module`'s HANDLER for this test (and,
  given `keep`, a set of file names, every artefact not in it)."""
  handler = module.HANDLER
  artefacts = tuple(
      dataclasses.replace(a, checksum=None) for a in handler.artefacts if keep is None or a.filename in keep
  )
  monkeypatch.setattr(module, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
  """A dataset in the test's store, with what handler tests read back."""

  store: Store
  name: str

  @property
  def manifest(self) -> dict:
    return self.store.manifest(self.name)

  @property
  def class_names(self) -> list[str]:
    return self.manifest["class_names"]

  def counts(self) -> dict[str, int]:
    """{split: number of examples} from the manifest."""
    splits = self.manifest["splits"]
    return {split: splits[split]["count"] for split in SPLITS}

  def read(self, split: str):
    return self.store.read(self.name, split)

  def labels(self, *splits: str) -> list:
    """The labels of `splits` (default all four), in split order then stored order; a multi-hot row is a list."""
    return [label for split in splits or SPLITS for label in self.read(split).labels.tolist()]

  def means(self, split: str) -> np.ndarray:
    """The mean pixel value of each stored image of `split`, in stored order."""
    images = np.asarray(self.read(split).images, np.float64)
    return images.reshape(len(images), -1).mean(axis=1) if len(images) else np.zeros(0)

  def pairs(self, *splits: str) -> list[tuple[int, int]]:
    """Sorted (rounded mean pixel value, label) of every image of `splits` (default all four)."""
    return sorted((int(round(float(m))), int(label))
                  for split in splits or SPLITS for m, label in zip(self.means(split), self.read(split).labels))

  def assert_levels_follow_labels(self) -> None:
    """Every stored image's grey level is `level` of its label, as the fixture drew it."""
    for split in SPLITS:
      for m, label in zip(self.means(split), self.read(split).labels):
        assert abs(m - level(int(label))) < 3, (split, int(label), m)


@pytest.fixture
def store_root(tmp_path, monkeypatch) -> Path:
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  root = tmp_path / "store"
  monkeypatch.setenv("NEVIS_DATA_DIR", str(root))
  return root


@pytest.fixture
def manual(tmp_path) -> Path:
  directory = tmp_path / "manual"
  directory.mkdir()
  return directory


@pytest.fixture
def prepare(store_root, manual, monkeypatch):
  """prepare(dataset) runs `nevis data prepare <dataset> --manual-dir <manual>` into `store_root`.

  checksums=False (the default) drops the handler's checksums first, fixture archives not being the real ones
  (`keep`: also drop every artefact whose file name is not in it); True keeps them as the handler has them
  (Kaggle archives carry none; a real checksum refuses the fixture). manual_dir: another --manual-dir.
  """

  def prepare(dataset: str, *, image_size: int = 8, checksums: bool = False, keep=None,
              manual_dir: Path | None = None) -> PreparedDataset:
    if not checksums:
      without_checksums(monkeypatch, handler_module(dataset), keep)
    source = NevisDataSource(dataset, data_dir=str(store_root), image_size=image_size)
    source.prepare(manual_dir=str(manual if manual_dir is None else manual_dir))
    assert source.status() == "prepared"
    return PreparedDataset(Store(store_root, image_size=image_size), dataset)

  return prepare
