"""Paediatric chest X-rays (Kermany et al.), normal or pneumonia; split recipe TD on the official folders.

Kaggle's chest-xray-pneumonia.zip holds chest_xray/chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/
*.jpeg (plus a __MACOSX copy and .DS_Store files, ignored). The folder names the class; images are read
in sorted name order as grey (dm_nevis handlers/pneumonia_chest_xray.py): train is split 80/20 into
train/dev, val is dev_test, test is test.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "chest-xray-pneumonia.zip"
CLASS_NAMES = ("NORMAL", "PNEUMONIA")
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_FOLDERS = {"train": "train", "validation": "val", "test": "test"}
_ROOT = "chest_xray/chest_xray/"
_IGNORED = re.compile(r".*Thumbs.db$|metadata.xlsx|README.md.txt|__MACOSX|DS_Store")


def decode_grey(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _examples(path: Path, folder: str):
  with zipfile.ZipFile(path) as archive:
    for name in sorted(archive.namelist()):
      if name.endswith("/") or _IGNORED.search(name) or not name.startswith(_ROOT + folder):
        continue
      label = _ID[posixpath.basename(posixpath.dirname(name))]
      yield Example(decode_grey(archive.read(name)), label)


def extract(paths: Mapping[str, Path]) -> Extracted:
  examples = {split: _examples(paths[ARCHIVE], folder) for split, folder in _FOLDERS.items()}
  return Extracted(CLASS_NAMES, examples)


# dm_nevis pins md5 930763e3580e76de9c2c849ec933b5d6 for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="pneumonia_chest_xray",
    artefacts=(Artefact(ARCHIVE, kaggle="paultimothymooney/chest-xray-pneumonia"),),
    extract=extract,
)
