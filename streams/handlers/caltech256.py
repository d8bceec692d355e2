"""Caltech-256 (Griffin, Holub & Perona 2007): 30,607 images, 256 categories plus clutter; split recipe A.

256_ObjectCategories.tar holds 256_ObjectCategories/<nnn>.<name>/<nnn>_<mmmm>.jpg, nnn the 1-based category
number (257 is clutter); the label is nnn - 1 and the category's name its folder suffix (dm_nevis
handlers/caltech256.py). Read in archive order, RGB. The archive is on Google Drive.
"""
from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

ARCHIVE = "256_ObjectCategories.tar"
NUM_CLASSES = 257
_NAME = re.compile(r"256_ObjectCategories/(\d{3})\.([^/]+)/\d{3}_\d{4}\.jpg$")
_DRIVE_ID = "1r6o0pSROcV1_VwT4oSjA2FBUSCWGuxLK"


def read_class_names(path: Path) -> list[str]:
  """Category names by label, from the folder names (an uncompressed tar: headers are read, not data)."""
  names: dict[int, str] = {}
  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      match = _NAME.match(member.name)
      if match:
        names[int(match.group(1)) - 1] = match.group(2)
  if sorted(names) != list(range(NUM_CLASSES)):
    raise ValueError(f"{path.name}: expected categories 001-{NUM_CLASSES}, found {len(names)}")
  return [names[k] for k in range(NUM_CLASSES)]


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in tar_members(paths[ARCHIVE]):
      match = _NAME.match(name)
      if match:
        yield Example(decode_image(data), int(match.group(1)) - 1)

  return Extracted(read_class_names(paths[ARCHIVE]), {"all": examples()})


HANDLER = Handler(
    name="caltech256",
    artefacts=(
        Artefact(
            ARCHIVE,
            url=f"https://drive.google.com/u/0/uc?id={_DRIVE_ID}&export=download&confirm=y",
            checksum="md5:67b4f42ca05d46448c6bb8ecd2220f6d",
            manual=f"Google Drive often refuses scripted downloads: open "
            f"https://drive.google.com/file/d/{_DRIVE_ID} in a browser and save {ARCHIVE}",
        ),
    ),
    extract=extract,
)
