"""COIL-20 (processed): 20 objects x 72 views, grey 128x128 PNGs; split recipe A.

Archive coil-20-proc.zip holds coil-20-proc/obj<object>__<view>.png, object 1-20, view 0-71.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "coil-20-proc.zip"
NUM_OBJECTS = 20
_NAME = re.compile(r"coil-20-proc/obj(\d+)__(\d+)\.png$")


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      match = _NAME.match(name)
      if match:
        yield Example(decode_image(data), int(match.group(1)) - 1, meta=int(match.group(2)))

  return Extracted([f"obj{i}" for i in range(1, NUM_OBJECTS + 1)], {"all": examples()})


HANDLER = Handler(
    name="coil20",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="http://www.cs.columbia.edu/CAVE/databases/SLAM_coil-20_coil-100/coil-20/coil-20-proc.zip",
            checksum="md5:464dec76a6abfcd00e8de6cf1e7d0acc",
        ),
    ),
    extract=extract,
)
