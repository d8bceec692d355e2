"""Flickr Material Database (Sharan et al.): 1,000 512x384 JPEGs, 10 materials x 100; split recipe A.

FMD.zip holds image/<material>/<material>_<object|moderate|final>_<nnn>_new.jpg, plus mask/ (binary masks,
not used) and MATLAB/Thumbs files. Only image/ is read, in sorted name order, converted to RGB; labels follow
the catalogue's class order (dm_nevis handlers/flickr_material_database.py).
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members
from nevis.streams.nevis22_catalogue import CATALOGUE

ARCHIVE = "FMD.zip"
CLASS_NAMES = CATALOGUE["flickr_material_database"].class_names
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_IGNORED = re.compile(r"\.asv$|\.m$|\.db$")


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      if not name.startswith("image") or _IGNORED.search(name):
        continue
      yield Example(decode_image(data), _ID[posixpath.basename(posixpath.dirname(name))])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="flickr_material_database",
    artefacts=(
        Artefact(ARCHIVE, url="http://people.csail.mit.edu/celiu/CVPR2010/FMD/FMD.zip",
                 checksum="md5:0721ba72cd981aa9599a81bbfaaebd75"),
    ),
    extract=extract,
)
