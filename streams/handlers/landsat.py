"""Statlog Landsat satellite (UCI satimage): 3x3-pixel patches; split recipe T (sat.trn / sat.tst).

Each line: 36 values (9 pixels x 4 spectral bands, pixel-major) then the class 1-7. NEVIS keeps the first
3 bands as RGB and shifts labels to 0-6 (6 "mixture class" never occurs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

TRAIN = "sat.trn"
TEST = "sat.tst"
_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/satimage/"
CLASS_NAMES = ("red soil", "cotton crop", "grey soil", "damp grey soil", "soil with vegetation stubble",
               "mixture class", "very damp grey soil")


def _examples(path: Path):
  data = np.loadtxt(path, ndmin=2)
  patches = data[:, :-1].reshape(len(data), 3, 3, 4)
  for patch, label in zip(patches, data[:, -1]):
    yield Example(patch[:, :, :3].astype(np.uint8), int(label) - 1)


def extract(paths: Mapping[str, Path]) -> Extracted:
  return Extracted(CLASS_NAMES, {"train": _examples(paths[TRAIN]), "test": _examples(paths[TEST])})


HANDLER = Handler(
    name="landsat",
    artefacts=(
        Artefact(TRAIN, url=_URL + TRAIN, checksum="md5:2c5ba2900da0183cab2c41fdb279fa5b"),
        Artefact(TEST, url=_URL + TEST, checksum="md5:02c995991fecc864e809b2c4c42cd983"),
    ),
    extract=extract,
)
