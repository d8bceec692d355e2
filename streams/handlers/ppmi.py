"""People Playing Musical Instruments (vision.stanford.edu norm_ppmi_12class.zip); split recipe T.

The zip holds norm_image/{play,with}_instrument/<instrument>/{train,test}/<image>.jpg: 12 instruments x
{playing, holding} = 24 classes, named by their first three path components. Paths containing 'test'
are left out of the official train split and paths containing 'train' out of the test split; images are
read in sorted zip order (dm_nevis handlers/ppmi.py). Label ids follow the sorted class names (dm_nevis
numbered a Python set, whose order is not reproducible).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "norm_ppmi_12class.zip"
_LEFT_OUT = {"train": re.compile(r"^README$|test"), "test": re.compile(r"^README$|train")}
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def class_of(path: str) -> str:
  """The first three components of a path ('' when it has fewer)."""
  parts = path.split("/")
  return "/".join(parts[:3]) if len(parts) >= 3 else ""


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    folders = {name.rpartition("/")[0] for name in archive.namelist()}
  class_names = sorted({c for folder in folders if (c := class_of(folder))})
  label_of = {name: i for i, name in enumerate(class_names)}

  def examples(official: str):
    for name, data in zip_members(paths[ARCHIVE]):
      if _LEFT_OUT[official].search(name) or not name.lower().endswith(_IMAGE_EXTENSIONS):
        continue
      yield Example(decode_image(data), label_of[class_of(name)])

  return Extracted(class_names, {"train": examples("train"), "test": examples("test")})


HANDLER = Handler(
    name="ppmi",
    artefacts=(
        Artefact(ARCHIVE, url="http://vision.stanford.edu/Datasets/norm_ppmi_12class.zip",
                 checksum="md5:88118d8c6b50d72f0bb37a89269185ab"),
    ),
    extract=extract,
)
