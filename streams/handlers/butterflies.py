"""Butterflies (Lazebnik, Schmid & Ponce 2004): 7 species; split recipe T with the published test list.

butterflies.zip holds <species>/<prefix><n>.jpg (e.g. admiral/adm001.jpg). The test split is the 10
images per species that the UIUC page lists in butterflies_f_order.txt (numbers below); the rest is the
official train split, read in the zip's own member order (dm_nevis handlers/butterflies.py). Label ids
follow the sorted species names (dm_nevis numbered a Python set, whose order is not reproducible).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "butterflies.zip"
TEST_IMAGES = {
    "admiral": {14, 103, 41, 86, 9, 53, 6, 55, 66, 92},
    "black_swallowtail": {25, 41, 2, 22, 31, 15, 28, 35, 4, 27},
    "machaon": {12, 24, 20, 52, 53, 29, 82, 25, 83, 14},
    "monarch_closed": {29, 9, 58, 72, 23, 44, 67, 36, 27, 28},
    "monarch_open": {46, 35, 58, 8, 76, 21, 34, 15, 83, 78},
    "peacock": {1, 96, 131, 124, 22, 59, 126, 52, 20, 86},
    "zebra": {57, 18, 21, 26, 43, 78, 31, 90, 6, 75},
}
CLASS_NAMES = tuple(sorted(TEST_IMAGES))
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_NUMBER = re.compile(r"[a-z]+(\d+)\.jpg$")


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples(test: bool):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for info in archive.infolist():  # member order: the split draw follows it
        if info.is_dir():
          continue
        species, basename = posixpath.split(info.filename)
        match = _NUMBER.search(basename)
        if species not in _ID or match is None:
          raise ValueError(f"{ARCHIVE}: unexpected member {info.filename!r}")
        if (int(match.group(1)) in TEST_IMAGES[species]) == test:
          yield Example(decode_image(archive.read(info)), _ID[species])

  return Extracted(CLASS_NAMES, {"train": examples(False), "test": examples(True)})


HANDLER = Handler(
    name="butterflies",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://web.archive.org/web/20070829035029/http://www-cvr.ai.uiuc.edu/ponce_grp/data/"
            "butterflies/butterflies.zip",
            checksum="md5:cc9bfe5e22f9001262b785ff33221581",
        ),
    ),
    extract=extract,
)
