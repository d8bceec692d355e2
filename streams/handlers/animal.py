"""ANIMAL shapes (Bai et al. 2009): grey animal silhouettes, 20 classes expected; split recipe A.

non_rigid_shape_A.zip and non_rigid_shape_B.zip each hold <top folder>/<class>/<image>. The class list is
read from the second path component of each zip's members (A then B); images are read from A then B, each
in sorted member order (dm_nevis handlers/animal.py, which orders classes as a Python set and the zips as a
directory listing: both unspecified, so here classes are sorted within each zip). NEVIS's host
xiang.bai.googlepages.com no longer exists: the zips are obtained by hand.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVES = ("non_rigid_shape_A.zip", "non_rigid_shape_B.zip")
_MD5 = {"non_rigid_shape_A.zip": "d88d44dc6d2382de3a5857d86fb5d430",
        "non_rigid_shape_B.zip": "dae4a05b9797a3109078d1553173b9a8"}
_MANUAL = ("NEVIS's host xiang.bai.googlepages.com no longer exists; obtain {} (Bai et al. animal shapes, "
           "original http://xiang.bai.googlepages.com/{}) elsewhere")


def class_of(name: str) -> str | None:
  parts = name.split("/")
  return parts[1] if len(parts) >= 3 and parts[1] else None


def extract(paths: Mapping[str, Path]) -> Extracted:
  classes: list[str] = []
  for archive_name in ARCHIVES:
    with zipfile.ZipFile(paths[archive_name]) as archive:
      found = {class_of(n) for n in archive.namelist()} - {None}
    classes += sorted(found - set(classes))
  label_of = {name: i for i, name in enumerate(classes)}

  def examples():
    for archive_name in ARCHIVES:
      for name, data in zip_members(paths[archive_name]):
        if class_of(name) is not None:
          yield Example(decode_image(data), label_of[class_of(name)])

  return Extracted(classes, {"all": examples()})


HANDLER = Handler(
    name="animal",
    artefacts=tuple(Artefact(name, checksum=f"md5:{md5}", manual=_MANUAL.format(name, name))
                    for name, md5 in _MD5.items()),
    extract=extract,
)
