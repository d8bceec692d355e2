"""COIL-100: 100 objects x 72 views (every 5 degrees), colour 128x128 PNGs; split by view angle.

Archive coil-100.zip (the file TFDS's `coil100` downloads) holds coil-100/obj<object>__<angle>.png,
object 1-100, angle 0-355. Labels are object - 1 (TFDS's `object_id` order); the view-angle bin
(angle / 5) decides the split (NEVIS's builders/coil100.py). This handler needs no TensorFlow.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "coil-100.zip"
NUM_OBJECTS = 100
_NAME = re.compile(r"coil-100/obj(\d+)__(\d+)\.png$")


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      match = _NAME.match(name)
      if match:
        angle = int(match.group(2))
        yield Example(decode_image(data), int(match.group(1)) - 1, meta=angle // 5)

  return Extracted([f"obj{i}" for i in range(1, NUM_OBJECTS + 1)], {"all": examples()})


def plan_splits(metas):
  return splits.coil_view_bins(metas["all"])


HANDLER = Handler(
    name="coil100",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="http://www.cs.columbia.edu/CAVE/databases/SLAM_coil-20_coil-100/coil-100/coil-100.zip",
            checksum="sha256:fcb4b8b01c0778f416d8d7a09f45082c4f7075cc74743dcddd5c44307bd4afe7",
        ),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
