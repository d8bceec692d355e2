"""15 Scene categories (Lazebnik et al. 2006), grey; split recipe A.

scene_categories.zip holds <category>/<image>.jpg, from a web.archive.org copy of the UIUC Ponce group
page (slow). Label ids follow the catalogue's class order (NEVIS's).
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members
from nevis.streams.nevis22_catalogue import CATALOGUE

ARCHIVE = "scene_categories.zip"
CLASS_NAMES = CATALOGUE["scenes15"].class_names
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      category = posixpath.dirname(name)
      if category in _ID:
        image = decode_image(data)
        yield Example(image if image.ndim == 2 else image.mean(axis=2).astype("uint8"), _ID[category])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="scenes15",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://web.archive.org/web/20070829035029/http://www-cvr.ai.uiuc.edu/ponce_grp/data/"
            "scene_categories/scene_categories.zip",
            checksum="md5:58828019197b2ad0a7efb472e7a85c2a",
        ),
    ),
    extract=extract,
)
