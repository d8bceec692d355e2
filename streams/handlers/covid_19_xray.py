"""COVID-19 radiography database: COVID, lung opacity, normal, viral pneumonia; recipe A after deduplication.

Kaggle's covid19-radiography-database.zip holds COVID-19_Radiography_Dataset/<class>/images/<class>-<n>.png
(and <class>/masks/, plus metadata spreadsheets and a README). NEVIS labels a file by its parent folder,
which only the class folders of the version it used match; in the current layout the folder is
`images` (or `masks`), so the class is the folder above it and masks are skipped. Files are read in sorted
name order as grey; an image repeating an earlier one of the same class is dropped (dm_nevis
handlers/covid_19_xray.py).
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "covid19-radiography-database.zip"
CLASS_NAMES = ("COVID", "Lung_Opacity", "Normal", "Viral Pneumonia")
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_IGNORED = re.compile(r".*Thumbs.db$|metadata.xlsx|README.md.txt")


def decode_grey(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def label_of(path: str) -> int | None:
  """The class of an image path, None for a mask or a file outside the class folders."""
  folders = path.split("/")[:-1]
  if folders and folders[-1] in _ID:
    return _ID[folders[-1]]
  if len(folders) >= 2 and folders[-1] == "images" and folders[-2] in _ID:
    return _ID[folders[-2]]
  return None


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    seen: set[tuple[str, int]] = set()
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in sorted(archive.namelist()):
        if name.endswith("/") or _IGNORED.search(name):
          continue
        label = label_of(name)
        if label is None:
          continue
        image = decode_grey(archive.read(name))
        key = (hashlib.md5(image.tobytes()).hexdigest(), label)
        if key not in seen:
          seen.add(key)
          yield Example(image, label)

  return Extracted(CLASS_NAMES, {"all": examples()})


# dm_nevis pins md5 1888824db56de7f47b886a536961b763 for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="covid_19_xray",
    artefacts=(Artefact(ARCHIVE, kaggle="tawsifurrahman/covid19-radiography-database"),),
    extract=extract,
)
