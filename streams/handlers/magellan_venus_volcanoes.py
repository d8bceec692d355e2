"""Magellan Venus volcanoes (UCI, JARtool experiment): 134 grey SAR images; split recipe A.

volcanoes.tar.gz holds package/Images/img<n>.sdt (raw 8-bit pixels, 1024x1024, no header; a .spr header
beside each) and package/GroundTruths/img<n>.lxyr, one volcano per line "<confidence 1-4> <x> <y> <r>".
NEVIS labels an image 1 when some line has confidence 1 ("definitely a volcano"), else 0; it reads the
images in archive order (dm_nevis handlers/magellan_venus_volcanoes.py).
"""
from __future__ import annotations

import math
import posixpath
import re
import tarfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "volcanoes.tar.gz"
CLASS_NAMES = ("no_volcano", "volcano")
# Headers, chips, tables, programs and the ground truth itself are not images.
_NOT_IMAGES = re.compile(r"\.spr$|Chips|FOA|GroundTruths|Programs|Tables|README")


def label_of_ground_truth(text: str) -> int:
  """1 when a line of an .lxyr file has confidence level 1 (the most certain), else 0."""
  return int(any(line.split()[:1] == ["1"] for line in text.splitlines()))


def decode_sdt(data: bytes) -> np.ndarray:
  # The real images are 1024x1024; the side is read from the size so that any square raw image decodes.
  side = math.isqrt(len(data))
  if side * side != len(data):
    raise ValueError(f"an .sdt image must be square raw 8-bit pixels, got {len(data)} bytes")
  return np.frombuffer(data, np.uint8).reshape(side, side)


def extract(paths: Mapping[str, Path]) -> Extracted:
  labels: dict[str, int] = {}
  with tarfile.open(paths[ARCHIVE], "r:*") as archive:
    for member in archive:
      if member.isfile() and "GroundTruths" in member.name and member.name.endswith(".lxyr"):
        stem = posixpath.splitext(posixpath.basename(member.name))[0]
        labels[stem + ".sdt"] = label_of_ground_truth(archive.extractfile(member).read().decode("latin-1"))

  def examples():
    with tarfile.open(paths[ARCHIVE], "r:*") as archive:
      for member in archive:
        if not member.isfile() or _NOT_IMAGES.search(member.name) or not member.name.endswith(".sdt"):
          continue
        # An image without a ground-truth file has no volcano listed.
        label = labels.get(posixpath.basename(member.name), 0)
        yield Example(decode_sdt(archive.extractfile(member).read()), label)

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="magellan_venus_volcanoes",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="http://archive.ics.uci.edu/ml/machine-learning-databases/volcanoes-mld/volcanoes.tar.gz",
            checksum="md5:55143a4ec42b626126c9b4ed618f59f8",
        ),
    ),
    extract=extract,
)
