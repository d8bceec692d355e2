"""Semeion handwritten digits (UCI): 1,593 binary 16x16 images; split recipe A.

semeion.data: one example per line, 256 pixel values (0 or 1, written as floats) then a one-hot of the
10 digits, separated by spaces.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

FILENAME = "semeion.data"
_PIXELS = 256


def parse_line(line: str) -> tuple[np.ndarray, int]:
  values = line.split()
  pixels = np.array([float(v) for v in values[:_PIXELS]]).reshape(16, 16)
  one_hot = [int(v) for v in values[_PIXELS:_PIXELS + 10]]
  return (pixels * 255).astype(np.uint8), int(np.argmax(one_hot))


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with open(paths[FILENAME]) as f:
      for line in f:
        if line.strip():
          image, label = parse_line(line)
          yield Example(image, label)

  return Extracted([str(d) for d in range(10)], {"all": examples()})


HANDLER = Handler(
    name="semeion",
    artefacts=(
        Artefact(
            FILENAME,
            url="https://archive.ics.uci.edu/ml/machine-learning-databases/semeion/semeion.data",
            checksum="md5:cb545d371d2ce14ec121470795a77432",
        ),
    ),
    extract=extract,
)
