"""UMIST faces (eprints.lincoln.ac.uk face.tar.gz): 20 subjects, grey; split recipe A.

The tar holds one folder per subject, named 1a ... 1t, of grey images; images are read in archive order.
Label ids follow NEVIS's own (unsorted) subject order (dm_nevis handlers/umist.py).
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

ARCHIVE = "face.tar.gz"
CLASS_NAMES = (
    "1s", "1r", "1n", "1i", "1d", "1e", "1q", "1c", "1k", "1l", "1h", "1o", "1a", "1b", "1t", "1m", "1g",
    "1f", "1p", "1j",
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in tar_members(paths[ARCHIVE]):
      subject = posixpath.basename(posixpath.dirname(name))
      if subject in _ID:
        yield Example(decode_image(data), _ID[subject])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="umist",
    artefacts=(
        Artefact(ARCHIVE, url="http://eprints.lincoln.ac.uk/id/eprint/16081/1/face.tar.gz",
                 checksum="md5:11011ab5dded043f5e4331711c2407c8"),
    ),
    extract=extract,
)
