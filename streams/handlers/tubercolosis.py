"""Tuberculosis chest X-ray database (Rahman et al.): normal or TB; split recipe A.

Kaggle's tuberculosis-tb-chest-xray-dataset.zip holds TB_Chest_Radiography_Database/{Normal,Tuberculosis}/
<class>-<n>.png with metadata spreadsheets and a README beside them (ignored). The folder names the class;
images are read in sorted name order as RGB (dm_nevis handlers/tubercolosis.py, whose spelling the
dataset's key keeps).
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

ARCHIVE = "tuberculosis-tb-chest-xray-dataset.zip"
CLASS_NAMES = ("Normal", "Tuberculosis")
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_IGNORED = re.compile(r".*Thumbs.db$|metadata.xlsx|README.md.txt")


def decode_rgb(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in sorted(archive.namelist()):
        if name.endswith("/") or _IGNORED.search(name):
          continue
        label = _ID[posixpath.basename(posixpath.dirname(name))]
        yield Example(decode_rgb(archive.read(name)), label)

  return Extracted(CLASS_NAMES, {"all": examples()})


# dm_nevis pins md5 3abdda8a1100ff97c9dce7cc2413d941 for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="tubercolosis",
    artefacts=(Artefact(ARCHIVE, kaggle="tawsifurrahman/tuberculosis-tb-chest-xray-dataset"),),
    extract=extract,
)
