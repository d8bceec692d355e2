"""ORL / Olivetti faces from Kaggle (tavarez/the-orl-database-for-training-and-testing); recipe A.

The Kaggle zip holds grey face images named <n>_<subject>.<ext>; the label is <subject> - 1 and NEVIS
declares 41 classes for the 40 subjects. Images are read in sorted zip order and converted to grey
(dm_nevis handlers/olivetti_face.py).
"""
from __future__ import annotations

import io
import posixpath
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, zip_members

KAGGLE_DATASET = "tavarez/the-orl-database-for-training-and-testing"
ARCHIVE = "the-orl-database-for-training-and-testing.zip"
NUM_CLASSES = 41
CLASS_NAMES = tuple(str(subject) for subject in range(1, NUM_CLASSES + 1))


def label_of(member_name: str) -> int:
  stem = posixpath.basename(member_name).split(".")[0]
  return int(stem.split("_")[1]) - 1


def decode_grey(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      yield Example(decode_grey(data), label_of(name))

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="olivetti_face",
    # Kaggle rebuilds its zips, so their bytes are not stable: no checksum (dm_nevis pinned md5
    # 09871495160825a485b0f2595ba2bb34 for the copy it downloaded).
    artefacts=(Artefact(ARCHIVE, kaggle=KAGGLE_DATASET),),
    extract=extract,
)
