"""Colorectal histology MNIST (Kather et al. 2016): 28x28 RGB tissue tiles in 8 classes; split recipe A.

Kaggle's colorectal-histology-mnist.zip holds hmnist_28_28_RGB.csv: a header, then one tile a row as
pixel0000 ... pixel2351 (28 x 28 x 3, row-major, RGB last) and a `label` column 1-8, shifted to 0-7
(dm_nevis handlers/path_mnist.py). The rest of the zip (full-size tiles, other resolutions) is unused.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "colorectal-histology-mnist.zip"
CSV_NAME = "hmnist_28_28_RGB.csv"
# Kather et al.'s tissue classes, in the order of their label numbers 1-8.
CLASS_NAMES = ("tumor", "stroma", "complex", "lympho", "debris", "mucosa", "adipose", "empty")
_PIXELS = 28 * 28 * 3


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive, archive.open(CSV_NAME) as raw:
      reader = csv.reader(io.TextIOWrapper(raw, "utf-8"))
      header = next(reader)
      pixel_columns = [header.index(f"pixel{i:04d}") for i in range(_PIXELS)]
      label_column = header.index("label")
      for row in reader:
        if not row:
          continue
        pixels = np.array([int(float(row[c])) for c in pixel_columns], dtype=np.uint8)
        yield Example(pixels.reshape(28, 28, 3), int(float(row[label_column])) - 1)

  return Extracted(CLASS_NAMES, {"all": examples()})


# dm_nevis pins md5 e03501016bd54719567dfb954fe982fe for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="path_mnist",
    artefacts=(Artefact(ARCHIVE, kaggle="kmader/colorectal-histology-mnist"),),
    extract=extract,
)
