"""Tiny ImageNet: 200 ImageNet classes at 64x64; split recipe T (official val used as test).

tiny-imagenet-200.zip holds tiny-imagenet-200/wnids.txt (the 200 WordNet ids), train/<wnid>/images/
<wnid>_<n>.JPEG (label from the file name's prefix), val/images/val_<n>.JPEG labelled by
val/val_annotations.txt ("<file>\t<wnid>\t<box>"), and an unlabelled test/ folder (unused). Label ids are
the sorted WordNet ids; files are read in sorted name order (dm_nevis handlers/tiny_imagenet.py).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Callable, Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "tiny-imagenet-200.zip"
_ROOT = "tiny-imagenet-200/"
# NEVIS's filters: a path naming another split (as a whole word) or a text file is not an image.
_NOT_TRAIN = re.compile(r".*?\bval\b.*?|.*?\btest\b.*?|.*\.txt$")
_NOT_TEST = re.compile(r".*?\btrain\b.*?|.*?\btest\b.*?|.*\.txt$")


def read_wnids(archive: zipfile.ZipFile) -> list[str]:
  lines = archive.read(_ROOT + "wnids.txt").decode("utf-8").split()
  return sorted(set(lines))


def read_val_annotations(archive: zipfile.ZipFile) -> dict[str, str]:
  text = archive.read(_ROOT + "val/val_annotations.txt").decode("utf-8")
  return {line.split("\t")[0]: line.split("\t")[1] for line in text.splitlines() if line.strip()}


def _images(path: Path, skip: re.Pattern, label_of: Callable[[str], int]):
  with zipfile.ZipFile(path) as archive:
    for name in sorted(archive.namelist()):
      if name.endswith("/") or skip.search(name) or name.endswith("Thumbs.db"):
        continue
      yield Example(decode_image(archive.read(name)), label_of(posixpath.basename(name)))


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    wnids = read_wnids(archive)
    val_wnid = read_val_annotations(archive)
  label_of = {wnid: i for i, wnid in enumerate(wnids)}
  examples = {
      "train": _images(paths[ARCHIVE], _NOT_TRAIN, lambda base: label_of[base.split("_")[0]]),
      "test": _images(paths[ARCHIVE], _NOT_TEST, lambda base: label_of[val_wnid[base]]),
  }
  return Extracted(wnids, examples)


HANDLER = Handler(
    name="tiny_imagenet",
    artefacts=(
        Artefact(ARCHIVE, url="http://cs231n.stanford.edu/tiny-imagenet-200.zip",
                 checksum="md5:90528d7ca1a48142e341f4ef8d21d0de"),
    ),
    extract=extract,
)
