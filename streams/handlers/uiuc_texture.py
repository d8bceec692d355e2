"""UIUC texture database (Lazebnik, Schmid & Ponce 2005): T01-T25, 40 grey 640x480 JPEGs each; split A.

Five zips T01-T05.zip ... T21-T25.zip, from a web.archive.org copy, hold <class folder>/<image>.jpg, e.g.
T01_bark/T01_01.jpg. The folder is the class; class ids number the folder names sorted. The zips are read
one after the other, each in sorted name order, and the images get NEVIS's texture crop (dm_nevis
handlers/uiuc_texture.py).
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

_URL = ("https://web.archive.org/web/20070829035029/http://www-cvr.ai.uiuc.edu/ponce_grp/data/"
        "texture_database/")
_MD5 = {
    "T01-T05.zip": "e622e4708e336d51b3bbd45503618af1",
    "T06-T10.zip": "50ab35564058d3f1d05e6f5d767db5df",
    "T11-T15.zip": "d1c7584aeb0ab1e41c7157c60e84c3ad",
    "T16-T20.zip": "d527ba7d820e1eeaef49f9c07b82aa34",
    "T21-T25.zip": "74a29af10123f2be70ea481e5af3ec36",
}
ARCHIVES = tuple(_MD5)


def read_class_names(paths: Mapping[str, Path]) -> list[str]:
  names = set()
  for archive in ARCHIVES:
    with zipfile.ZipFile(paths[archive]) as zf:
      names |= {posixpath.dirname(n) for n in zf.namelist() if not n.endswith("/") and "/" in n}
  return sorted(n for n in names if n)


def extract(paths: Mapping[str, Path]) -> Extracted:
  class_names = read_class_names(paths)
  label_of = {name: i for i, name in enumerate(class_names)}

  def examples():
    for archive in ARCHIVES:
      for name, data in zip_members(paths[archive]):
        if posixpath.dirname(name) in label_of:
          yield Example(decode_image(data), label_of[posixpath.dirname(name)])

  return Extracted(class_names, {"all": examples()})


HANDLER = Handler(
    name="uiuc_texture",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
    image_rule="texture_crop",
)
