"""BelgiumTS classification (Timofte et al.): 62 sign classes, PPM crops; split recipe T.

BelgiumTSC_Training.zip and BelgiumTSC_Testing.zip hold <split folder>/<class, 5 digits>/<nnnnn_nnnnn>.ppm
with a GT-<class>.csv per folder (not used: NEVIS keeps the whole image); the class is the folder number.
reducedSetTS.txt names the 62 classes, one a line after a header line. Zips are read in sorted name order
(dm_nevis handlers/belgium_tsc.py).
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

TRAIN = "BelgiumTSC_Training.zip"
TEST = "BelgiumTSC_Testing.zip"
CLASS_NAMES_FILE = "reducedSetTS.txt"
NUM_CLASSES = 62
_ZIP_URL = "http://www.vision.ee.ethz.ch/~timofter/BelgiumTSC/"


def read_class_names(path: Path) -> list[str]:
  lines = [line.strip() for line in path.read_text(errors="replace").splitlines()[1:]]
  names = [line for line in lines if line]
  if len(names) != NUM_CLASSES:
    raise ValueError(f"{path.name}: expected {NUM_CLASSES} class names after the header, got {len(names)}")
  # the store needs distinct names; a repeated sign code keeps its class number to stay apart
  return [name if names.count(name) == 1 else f"{name} ({k})" for k, name in enumerate(names)]


def _examples(path: Path):
  for name, data in zip_members(path):
    if name.endswith(".ppm"):
      yield Example(decode_image(data), int(posixpath.basename(posixpath.dirname(name))))


def extract(paths: Mapping[str, Path]) -> Extracted:
  names = read_class_names(paths[CLASS_NAMES_FILE])
  return Extracted(names, {"train": _examples(paths[TRAIN]), "test": _examples(paths[TEST])})


HANDLER = Handler(
    name="belgium_tsc",
    artefacts=(
        Artefact(CLASS_NAMES_FILE, url="https://btsd.ethz.ch/shareddata/BelgiumTS/reducedSetTS.txt",
                 checksum="md5:e6052a024e24060e5cec84fbda34fb5e"),
        Artefact(TRAIN, url=_ZIP_URL + TRAIN, checksum="md5:c727ca9d00e3964ca676286a1808ccee"),
        Artefact(TEST, url=_ZIP_URL + TEST, checksum="md5:d208de4566388791c0028da8d6a545cc"),
    ),
    extract=extract,
)
