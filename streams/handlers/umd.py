"""UMD high-resolution textures (Xu, Ji & Fermüller 2006): 25 classes x 40 grey images; split recipe A.

textures-1.zip (classes 1-12) and textures-2.zip (13-25) hold <folder>/<class number>/<image>; the class is
the number of the image's folder, minus one (dm_nevis handlers/umd.py). The zips are read one after the other,
each in sorted name order; Thumbs.db files are skipped.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVES = ("textures-1.zip", "textures-2.zip")
NUM_CLASSES = 25
_URL = "http://users.umiacs.umd.edu/~fer/High-resolution-data-base/"
_MD5 = {
    "textures-1.zip": "818b5b13035374cffd4db604e718ddbf",
    "textures-2.zip": "e9853d0f7eaa9e57c4756e9017d0cbc9",
}


def label_of_path(name: str) -> int:
  label = int(posixpath.basename(posixpath.dirname(name))) - 1
  if not 0 <= label < NUM_CLASSES:
    raise ValueError(f"{name}: class folder outside 1-{NUM_CLASSES}")
  return label


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for archive in ARCHIVES:
      for name, data in zip_members(paths[archive]):
        if not name.endswith(".db"):
          yield Example(decode_image(data), label_of_path(name))

  return Extracted([f"{k:02d}" for k in range(1, NUM_CLASSES + 1)], {"all": examples()})


HANDLER = Handler(
    name="umd",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
)
