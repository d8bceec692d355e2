"""Oliva & Torralba's 8 outdoor scene categories, 256x256 colour JPEGs; split recipe A.

spatial_envelope_256x256_static_8outdoorcategories.zip holds <category>_<name>.jpg; the category is the
file name before its first underscore. Label ids follow the catalogue's (NEVIS's) class order; images
are read in sorted zip order (dm_nevis handlers/scenes8.py).
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members
from nevis.streams.nevis22_catalogue import CATALOGUE

ARCHIVE = "spatial_envelope_256x256_static_8outdoorcategories.zip"
CLASS_NAMES = CATALOGUE["scenes8"].class_names
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      category = posixpath.basename(name).split("_")[0]
      if category in _ID:
        yield Example(decode_image(data), _ID[category])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="scenes8",
    artefacts=(
        Artefact(ARCHIVE, url=f"https://people.csail.mit.edu/torralba/code/spatialenvelope/{ARCHIVE}",
                 checksum="md5:c26fe529d49848091a759d7aadd267f5"),
    ),
    extract=extract,
)
