"""Caltech categories (data.caltech.edu): cars (rear, 1999 + 2001) vs motorbikes (side); recipe A.

Each zip holds one tar of images: Cars_1999.zip -> Cars_1999/cars_markus.tar, Cars_2001.zip ->
Cars_2001/cars_brad.tar, motorbikes_side.zip -> motorbikes_side/motorbikes_side.tar. Images are read
tar by tar in that order (NEVIS's sorted category names cars_1999, cars_2001, motorcycles_2001), each in
archive order, skipping README and .mat files (dm_nevis handlers/caltech_categories.py). NEVIS also
downloads faces.tar but never reads it, so it is not fetched here.
"""
from __future__ import annotations

import posixpath
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

CLASS_NAMES = ("car", "motorcycle")
# (zip, tar inside it, class), in reading order.
SOURCES = (
    ("Cars_1999.zip", "cars_markus.tar", "car"),
    ("Cars_2001.zip", "cars_brad.tar", "car"),
    ("motorbikes_side.zip", "motorbikes_side.tar", "motorcycle"),
)
_NOT_IMAGES = re.compile(r"^README$|\.mat$")
_MD5 = {
    "Cars_1999.zip": ("fmbpr-ezq86", "79b12e08cf5f711f27bbd3e9c6bf371f"),
    "Cars_2001.zip": ("dvx6b-vsc46", "e68efb9197ed6a9bc94ce46c79378d29"),
    "motorbikes_side.zip": ("pxb2q-1e144", "ac51dc40c8df085c6663f38307685079"),
}


def _tar_examples(zip_path: Path, tar_name: str, label: int):
  with zipfile.ZipFile(zip_path) as outer:
    inner = [n for n in outer.namelist() if posixpath.basename(n) == tar_name]
    if len(inner) != 1:
      raise ValueError(f"{zip_path.name}: expected one {tar_name}, found {inner}")
    with outer.open(inner[0]) as handle, tarfile.open(fileobj=handle, mode="r|*") as archive:
      for member in archive:
        if not member.isfile() or _NOT_IMAGES.search(member.name) or member.name.endswith("Thumbs.db"):
          continue
        yield Example(decode_image(archive.extractfile(member).read()), label)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for zip_name, tar_name, class_name in SOURCES:
      yield from _tar_examples(paths[zip_name], tar_name, CLASS_NAMES.index(class_name))

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="caltech_categories",
    artefacts=tuple(
        Artefact(name, url=f"https://data.caltech.edu/records/{record}/files/{name}?download=1",
                 checksum=f"md5:{md5}")
        for name, (record, md5) in _MD5.items()
    ),
    extract=extract,
)
