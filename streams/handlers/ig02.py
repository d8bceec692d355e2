"""INRIA-annotated Graz-02 (lear.inrialpes.fr): bikes, cars, people; split recipe A over all images.

ig02-v1.0-<class>.zip holds <class>/<name>.image.png (plus masks, ignored) and <class>_train.txt /
<class>_test.txt listing image names. NEVIS reads the listed train images first, then every image,
and drops repeats of an (image pixels, label) pair, so the result is all distinct images with the train
list first; zips are read bikes, cars, people, each in sorted order (dm_nevis handlers/ig02.py).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
import zipfile
from pathlib import Path
from typing import Iterator, Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, to_array

CLASS_NAMES = ("bikes", "cars", "people")
ARCHIVES = {name: f"ig02-v1.0-{name}.zip" for name in CLASS_NAMES}
IMAGE_SUFFIX = ".image.png"
_URL = "http://lear.inrialpes.fr/people/marszalek/data/ig02/"
_MD5 = {
    "bikes": "13266fdf968176fa3aebdd439184254f",
    "cars": "34de933832755ee009c6f0e9d9c6426e",
    "people": "f80d8d21f018197979c72b977986fd2f",
}


def _train_list(archive: zipfile.ZipFile, class_name: str) -> set[str]:
  with archive.open(f"{class_name}_train.txt") as f:
    names = (line.decode().strip() for line in f)
    return {f"{class_name}/{name}{IMAGE_SUFFIX}" for name in names if name}


def _candidates(archives: Mapping[str, zipfile.ZipFile]) -> Iterator[tuple[str, str, int]]:
  """(class, member, label) in NEVIS's reading order: the train list, then every image."""
  for train_pass in (True, False):
    for class_name in CLASS_NAMES:
      archive = archives[class_name]
      chosen = _train_list(archive, class_name) if train_pass else None
      for name in sorted(archive.namelist()):
        if not name.endswith(IMAGE_SUFFIX) or (chosen is not None and name not in chosen):
          continue
        # The label comes from the folder, as NEVIS's does.
        folder = posixpath.dirname(name)
        if folder in CLASS_NAMES:
          yield class_name, name, CLASS_NAMES.index(folder)


def _decode(data: bytes):
  from PIL import Image

  image = Image.open(io.BytesIO(data))
  image.load()
  return image


def _open_all(paths: Mapping[str, Path], stack: contextlib.ExitStack) -> dict[str, zipfile.ZipFile]:
  return {name: stack.enter_context(zipfile.ZipFile(paths[ARCHIVES[name]])) for name in CLASS_NAMES}


def extract(paths: Mapping[str, Path]) -> Extracted:
  # First pass: which candidates survive de-duplication (hashes of decoded pixels, as NEVIS's).
  seen: set[tuple[str, int]] = set()
  kept: list[tuple[str, str, int]] = []
  with contextlib.ExitStack() as stack:
    archives = _open_all(paths, stack)
    for class_name, name, label in _candidates(archives):
      digest = hashlib.md5(_decode(archives[class_name].read(name)).tobytes()).hexdigest()
      if (digest, label) not in seen:
        seen.add((digest, label))
        kept.append((class_name, name, label))

  def examples():
    with contextlib.ExitStack() as stack:
      archives = _open_all(paths, stack)
      for class_name, name, label in kept:
        yield Example(to_array(_decode(archives[class_name].read(name))), label)

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="ig02",
    artefacts=tuple(
        Artefact(ARCHIVES[name], url=_URL + ARCHIVES[name], checksum=f"md5:{_MD5[name]}")
        for name in CLASS_NAMES
    ),
    extract=extract,
)
