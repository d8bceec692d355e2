"""SUN Attribute database: 14,340 scene images, 102 attributes as a multi-label; split recipe A.

SUNAttributeDB.tar.gz holds SUNAttributeDB/images.mat (`images`, a cell of paths such as
"a/abbey/sun_x.jpg"), attributeLabels_continuous.mat (`labels_cv`, images x 102 vote fractions) and
attributes.mat (`attributes`, the 102 names). An attribute is on when any annotator voted for it
(fraction > 0). SUNAttributeDB_Images.tar.gz holds images/<path>; images are read in archive order
(dm_nevis handlers/sun_attributes.py).
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

IMAGES = "SUNAttributeDB_Images.tar.gz"
ATTRIBUTES = "SUNAttributeDB.tar.gz"
NUM_CLASSES = 102
_URL = "https://cs.brown.edu/~gmpatter/Attributes/"


def _strings(array) -> list[str]:
  out = []
  for item in np.asarray(array, dtype=object).ravel():
    while isinstance(item, np.ndarray):
      item = item.ravel()[0] if item.size else ""
    out.append(str(item))
  return out


def read_attributes(path: Path) -> tuple[dict[str, list[int]], list[str]]:
  """({"images/<path>": attribute ids}, attribute names)."""
  from scipy.io import loadmat

  with tarfile.open(path, "r:*") as archive:
    def mat(name):
      try:
        return loadmat(io.BytesIO(archive.extractfile(f"SUNAttributeDB/{name}").read()))
      except KeyError:
        return None

    votes = np.asarray(mat("attributeLabels_continuous.mat")["labels_cv"])
    files = _strings(mat("images.mat")["images"])
    named = mat("attributes.mat")
  if named is not None:
    names = _strings(named["attributes"])
  else:
    names = [f"attribute_{i}" for i in range(NUM_CLASSES)]
  return {f"images/{f}": np.flatnonzero(v).tolist() for f, v in zip(files, votes)}, names


def extract(paths: Mapping[str, Path]) -> Extracted:
  attributes, names = read_attributes(paths[ATTRIBUTES])

  def examples():
    with tarfile.open(paths[IMAGES], "r:*") as archive:
      for member in archive:
        if member.isfile() and member.name in attributes:
          yield Example(decode_image(archive.extractfile(member).read()), attributes[member.name])

  return Extracted(names, {"all": examples()})


HANDLER = Handler(
    name="sun_attributes",
    artefacts=(
        Artefact(IMAGES, url=_URL + IMAGES, checksum="md5:5966725c7306df6e05cd3ada7f45a18b"),
        Artefact(ATTRIBUTES, url=_URL + ATTRIBUTES, checksum="md5:883293e5b645822f6ae0046c6df54183"),
    ),
    extract=extract,
)
