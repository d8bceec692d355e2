"""Animals with Attributes 2: predict an animal's 85 binary attributes, tested on 10 unseen classes.

AwA2-data.zip holds Animals_with_Attributes2/{classes,predicates}.txt ("<id>\t<name>", ids from 1),
{train,test}classes.txt (one class name a line), predicate-matrix-binary.txt (50 rows of 85 0/1 values,
row = class id - 1) and JPEGImages/<class>/<class>_<n>.jpg. An image's label is the set of attributes
of its class. Images of the 40 training classes are split 70/15/15 (seeded draw, archive order); the
images of the 10 test classes are test. Longest side shrunk to 256 at extraction (dm_nevis
handlers/awa2.py).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "AwA2-data.zip"
_ROOT = "Animals_with_Attributes2/"
_NUMBERED = re.compile(r"(\d+)\t([a-z+]+)")
_NAME = re.compile(r"[a-z+]+")


def _lines(archive: zipfile.ZipFile, name: str) -> list[str]:
  return [line for line in archive.read(_ROOT + name).decode("utf-8").splitlines() if line.strip()]


def read_numbered(archive: zipfile.ZipFile, name: str) -> dict[str, int]:
  """name -> 0-based id from a "<id>\t<name>" file."""
  found = (_NUMBERED.search(line) for line in _lines(archive, name))
  return {m.group(2): int(m.group(1)) - 1 for m in found}


def read_names(archive: zipfile.ZipFile, name: str) -> list[str]:
  return [_NAME.search(line).group(0) for line in _lines(archive, name)]


def read_binary_matrix(archive: zipfile.ZipFile) -> np.ndarray:
  return np.array([[int(v) for v in line.split()] for line in _lines(archive, "predicate-matrix-binary.txt")])


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    class_id = read_numbered(archive, "classes.txt")
    predicate_id = read_numbered(archive, "predicates.txt")
    classes = {"train": set(read_names(archive, "trainclasses.txt")),
               "test": set(read_names(archive, "testclasses.txt"))}
    matrix = read_binary_matrix(archive)
  attribute_names = sorted(predicate_id, key=predicate_id.get)

  def examples(split):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for member in archive.infolist():
        if member.is_dir() or "JPEGImages" not in member.filename:
          continue
        class_name = posixpath.basename(posixpath.dirname(member.filename))
        if class_name not in classes[split]:
          continue
        attributes = np.flatnonzero(matrix[class_id[class_name]]).tolist()
        yield Example(decode_image(archive.read(member)), attributes)

  return Extracted(attribute_names, {split: examples(split) for split in classes})


def plan_splits(metas):
  return splits.recipe_train({split: len(items) for split, items in metas.items()})


HANDLER = Handler(
    name="awa2",
    artefacts=(
        Artefact(ARCHIVE, url="https://cvml.ist.ac.at/AwA2/AwA2-data.zip",
                 checksum="md5:eaa27cf799d5cf55af372356d7281b5e"),
    ),
    extract=extract,
    plan_splits=plan_splits,
    image_rule="max_side:256",
)
