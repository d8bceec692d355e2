"""PASCAL VOC 2006 as whole-image classification, 10 classes; split recipe T (trainval / test).

voc2006_trainval.tar and voc2006_test.tar hold VOCdevkit/VOC2006/ImageSets/<class>_<set>.txt (lines
"<image id> <flag>", flag 1 = class present) and VOCdevkit/VOC2006/PNGImages/<image id>.png. Classes
are the <class>_trainval.txt files in archive order. An image positive for several classes keeps the
last one in that order; images positive for none are dropped. Images are read in archive order (dm_nevis
handlers/pascal_voc2006.py).
"""
from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

TRAIN = "voc2006_trainval.tar"
TEST = "voc2006_test.tar"
_URL = "http://host.robots.ox.ac.uk/pascal/VOC/download/"
_IMAGE_SETS = "VOCdevkit/VOC2006/ImageSets/"


def _class_files(archive: tarfile.TarFile, suffix: str) -> list[tarfile.TarInfo]:
  return [m for m in archive.getmembers() if m.name.startswith(_IMAGE_SETS) and m.name.endswith(suffix)]


def class_names_of(path: Path) -> list[str]:
  with tarfile.open(path) as archive:
    members = _class_files(archive, "_trainval.txt")
  return [posixpath.basename(m.name)[:-len("_trainval.txt")] for m in members]


def positives(text: str) -> list[str]:
  """Image ids flagged 1 in an ImageSets class file."""
  rows = (line.split() for line in text.splitlines())
  return [row[0] for row in rows if len(row) == 2 and row[1] == "1"]


def _examples(path: Path, suffix: str, label_of_class: Mapping[str, int]):
  with tarfile.open(path) as archive:
    label_of_file: dict[str, int] = {}
    for member in _class_files(archive, suffix):
      class_name = posixpath.basename(member.name)[:-len(suffix)]
      for image_id in positives(archive.extractfile(member).read().decode("utf-8")):
        label_of_file[image_id + ".png"] = label_of_class[class_name]
    for member in archive.getmembers():
      basename = posixpath.basename(member.name)
      if member.isfile() and basename in label_of_file:
        yield Example(decode_image(archive.extractfile(member).read()), label_of_file[basename])


def extract(paths: Mapping[str, Path]) -> Extracted:
  class_names = class_names_of(paths[TRAIN])
  label_of_class = {name: i for i, name in enumerate(class_names)}
  return Extracted(class_names, {
      "train": _examples(paths[TRAIN], "_trainval.txt", label_of_class),
      "test": _examples(paths[TEST], "_test.txt", label_of_class),
  })


HANDLER = Handler(
    name="pascal_voc2006",
    artefacts=(
        Artefact(TRAIN, url=_URL + TRAIN, checksum="md5:af06612e5ad9863bde6fa7aae55f8866"),
        Artefact(TEST, url=_URL + TEST, checksum="md5:6bd028d82d057621c4fc69e9c56517ef"),
    ),
    extract=extract,
)
