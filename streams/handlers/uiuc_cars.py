"""UIUC side-view cars (host.robots.ox.ac.uk uiuc.tar.gz): car vs no car, grey PGMs; split recipe A.

The tar holds CarData/TrainImages/{pos,neg}-<n>.pgm and CarData/TestImages/test-<n>.pgm (plus text
files and the multi-scale TestImages_Scale, skipped). As in NEVIS, an image is 'car' when its path
contains 'pos', else 'no_car', so the single-scale test images (which do show cars) count as 'no_car';
images are read in archive order (dm_nevis handlers/uiuc_cars.py).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

ARCHIVE = "uiuc.tar.gz"
CLASS_NAMES = ("no_car", "car")
_SKIPPED = re.compile(r".*\.txt$|TestImages_Scale")


def label_of(member_name: str) -> int:
  return int("pos" in member_name)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in tar_members(paths[ARCHIVE]):
      if not _SKIPPED.search(name):
        yield Example(decode_image(data), label_of(name))

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="uiuc_cars",
    artefacts=(
        Artefact(ARCHIVE, url="http://host.robots.ox.ac.uk/pascal/VOC/download/uiuc.tar.gz",
                 checksum="md5:716c6078f57839bb440967fa74116da3"),
    ),
    extract=extract,
)
