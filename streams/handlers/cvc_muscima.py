"""CVC-MUSCIMA writer identification (Fornés et al. 2012): 50 writers' music scores; split recipe T.

CVCMUSCIMA_WI.zip holds CVCMUSCIMA_WI/PNG_GT_Gray/w-<writer>/p<page>.png (and binary/staff-removed
variants elsewhere, not used). Partitions_Set.zip holds the official partitions; NEVIS uses
set_2_Independent, partition 01: lines "w-<writer>/p<page>.png" for training and testing. Images are read in
the zip's own member order, and class ids follow dm_nevis's writer order (handlers/cvc_muscima.py).
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

IMAGES = "CVCMUSCIMA_WI.zip"
PARTITIONS = "Partitions_Set.zip"
IMAGE_PREFIX = "CVCMUSCIMA_WI/PNG_GT_Gray"
PARTITION_FILES = {
    "train": "Partitions_Set/set_2_Independent/set_2_training_01.txt",
    "test": "Partitions_Set/set_2_Independent/set_2_testing_01.txt",
}
CLASS_NAMES = (
    "w-23", "w-14", "w-18", "w-11", "w-40", "w-42", "w-28", "w-03", "w-05", "w-34", "w-36", "w-37", "w-12",
    "w-31", "w-06", "w-22", "w-25", "w-21", "w-38", "w-48", "w-32", "w-07", "w-39", "w-15", "w-10", "w-17",
    "w-45", "w-50", "w-02", "w-08", "w-01", "w-20", "w-35", "w-29", "w-46", "w-47", "w-13", "w-30", "w-33",
    "w-09", "w-16", "w-49", "w-43", "w-44", "w-24", "w-19", "w-04", "w-26", "w-41", "w-27",
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_URL = "http://wwwo.cvc.uab.es/cvcmuscima/"


def read_partitions(path: Path) -> dict[str, set[str]]:
  with zipfile.ZipFile(path) as archive:
    return {
        split: {line.strip() for line in archive.read(name).decode("utf-8").splitlines() if line.strip()}
        for split, name in PARTITION_FILES.items()
    }


def extract(paths: Mapping[str, Path]) -> Extracted:
  partitions = read_partitions(paths[PARTITIONS])

  def examples(split):
    with zipfile.ZipFile(paths[IMAGES]) as archive:
      for member in archive.infolist():
        if member.is_dir() or not member.filename.startswith(IMAGE_PREFIX):
          continue
        writer = posixpath.basename(posixpath.dirname(member.filename))
        if f"{writer}/{posixpath.basename(member.filename)}" in partitions[split]:
          yield Example(decode_image(archive.read(member)), _ID[writer])

  return Extracted(CLASS_NAMES, {split: examples(split) for split in PARTITION_FILES})


HANDLER = Handler(
    name="cvc_muscima",
    artefacts=(
        Artefact(IMAGES, url=_URL + IMAGES, checksum="md5:33d7464a3dc376a9456bbfe7aad8c18f"),
        Artefact(PARTITIONS, url=_URL + PARTITIONS, checksum="md5:dd22cff47fd50ca01ee077b757a978cd"),
    ),
    extract=extract,
)
