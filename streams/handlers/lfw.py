"""Labeled Faces in the Wild as face identification: subjects with at least 5 images.

lfw.tgz holds lfw/<Subject_Name>/<Subject_Name>_<nnnn>.jpg. Per subject, in archive order, the last 2
images are test, the one before dev_test, the one before that dev, the rest train (dm_nevis
handlers/lfw.py). Labels number the kept subjects in order of first appearance: 423 subjects, 5,985 images
in the real archive.
"""
from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "lfw.tgz"
MIN_IMAGES = 5


def split_of_position(position: int, count: int) -> str:
  if position >= count - 2:
    return "test"
  if position == count - 3:
    return "dev_test"
  if position == count - 4:
    return "dev"
  return "train"


def _subjects(path: Path) -> dict[str, list[str]]:
  files: dict[str, list[str]] = {}
  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      if member.isfile():
        files.setdefault(posixpath.basename(posixpath.dirname(member.name)), []).append(member.name)
  return files


def extract(paths: Mapping[str, Path]) -> Extracted:
  files = _subjects(paths[ARCHIVE])
  kept = [subject for subject, names in files.items() if len(names) >= MIN_IMAGES]
  label_of = {subject: i for i, subject in enumerate(kept)}
  split_of = {}
  for subject in kept:
    for position, name in enumerate(files[subject]):
      split_of[name] = split_of_position(position, len(files[subject]))

  def examples():
    with tarfile.open(paths[ARCHIVE], "r:*") as archive:
      for member in archive:
        if member.name in split_of:
          subject = posixpath.basename(posixpath.dirname(member.name))
          yield Example(decode_image(archive.extractfile(member).read()), label_of[subject],
                        meta=split_of[member.name])

  return Extracted(kept, {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="lfw",
    artefacts=(
        Artefact(ARCHIVE, url="http://vis-www.cs.umass.edu/lfw/lfw.tgz",
                 checksum="md5:a17d05bd522c52d84eca14327a23d494"),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
