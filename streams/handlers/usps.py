"""USPS digits, libsvm format (csie.ntu.edu.tw): 16x16 grey; split recipe T (official train / test).

usps.bz2 (train) and usps.t.bz2 (test): one example per line, "<label 1-10> 1:<v> 2:<v> ... 256:<v>" with
pixel values in [-1, 1]. Labels are shifted to 0-9; pixels map linearly to [0, 255].
"""
from __future__ import annotations

import bz2
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

TRAIN = "usps.bz2"
TEST = "usps.t.bz2"
_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"


def parse_line(line: str) -> tuple[np.ndarray, int]:
  label, *features = line.split()
  pixels = np.zeros(256)  # libsvm omits zero features
  for feature in features:
    index, _, value = feature.partition(":")
    pixels[int(index) - 1] = float(value)
  image = ((pixels + 1.0) / 2.0 * 255.0).astype(np.uint8).reshape(16, 16)
  return image, int(float(label)) - 1


def _examples(path: Path):
  with bz2.open(path, "rt") as f:
    for line in f:
      if line.strip():
        image, label = parse_line(line)
        yield Example(image, label)


def extract(paths: Mapping[str, Path]) -> Extracted:
  examples = {"train": _examples(paths[TRAIN]), "test": _examples(paths[TEST])}
  return Extracted([str(d) for d in range(10)], examples)


HANDLER = Handler(
    name="usps",
    artefacts=(
        Artefact(TRAIN, url=_URL + TRAIN, checksum="md5:ec16c51db3855ca6c91edd34d0e9b197"),
        Artefact(TEST, url=_URL + TEST, checksum="md5:8ea070ee2aca1ac39742fdd1ef5ed118"),
    ),
    extract=extract,
)
