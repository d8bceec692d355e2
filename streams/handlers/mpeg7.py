"""MPEG-7 CE-Shape-1 silhouettes (dabi.temple.edu): grey GIFs named <class>-<n>.gif; recipe A.

MPEG7dataset.zip also holds a few 'confusion*' and 'shapedata*' files, which are skipped. Classes are
the sorted distinct <class> prefixes (70 in the real archive); images are read in sorted zip order
(dm_nevis handlers/mpeg7.py).
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "MPEG7dataset.zip"


def class_of(member_name: str) -> str | None:
  """The shape class of a file, or None for directories and the files that are not shapes."""
  if member_name.endswith("/") or member_name.endswith("Thumbs.db"):
    return None
  name = posixpath.basename(member_name).split("-")[0]
  if not name or "confusion" in name or "shapedata" in name:
    return None
  return name


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    class_names = sorted({c for n in archive.namelist() if (c := class_of(n)) is not None})
  label_of = {name: i for i, name in enumerate(class_names)}

  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      shape_class = class_of(name)
      if shape_class is not None:
        yield Example(decode_image(data), label_of[shape_class])

  return Extracted(class_names, {"all": examples()})


HANDLER = Handler(
    name="mpeg7",
    artefacts=(
        Artefact(ARCHIVE, url="https://dabi.temple.edu/external/shape/MPEG7/MPEG7dataset.zip",
                 checksum="md5:bedd54856c425dcc6e242515c4f67d75"),
    ),
    extract=extract,
)
