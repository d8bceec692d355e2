"""FGVC-Aircraft 2013b (Maji et al. 2013) at the family level: 70 families; split recipe T.

fgvc-aircraft-2013b.tar.gz holds fgvc-aircraft-2013b/data/images/<id>.jpg, families.txt (one family a line,
in label order) and images_family_<trainval|test>.txt (lines "<id> <family>"). NEVIS splits the official
trainval 70/15/15 and tests on the official test split; images are whole (banner kept), read in archive
order (dm_nevis handlers/fgvc_aircraft.py).
"""
from __future__ import annotations

import posixpath
import re
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

ARCHIVE = "fgvc-aircraft-2013b.tar.gz"
FAMILIES = "fgvc-aircraft-2013b/data/families.txt"
SPLIT_LISTS = {"train": "images_family_trainval", "test": "images_family_test"}
_LINE = re.compile(r"^(\d+) (.+)$")


def read_lists(path: Path) -> tuple[list[str], dict[str, dict[int, str]]]:
  """The families in label order, and {"train"|"test": {image id: family}}."""
  families: list[str] = []
  lists: dict[str, dict[int, str]] = {split: {} for split in SPLIT_LISTS}
  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      if not member.isfile() or not member.name.endswith(".txt"):
        continue
      lines = archive.extractfile(member).read().decode("utf-8").splitlines()
      if member.name.endswith(FAMILIES):
        families = [line.strip() for line in lines if line.strip()]
      for split, stem in SPLIT_LISTS.items():
        if posixpath.basename(member.name) == f"{stem}.txt":
          for line in lines:
            match = _LINE.match(line.strip())
            if not match:
              raise ValueError(f"{member.name}: cannot read {line!r}")
            lists[split].setdefault(int(match.group(1)), match.group(2))
  if not families:
    raise ValueError(f"{path.name}: no {FAMILIES}")
  return families, lists


def extract(paths: Mapping[str, Path]) -> Extracted:
  families, lists = read_lists(paths[ARCHIVE])
  label_of = {family: i for i, family in enumerate(families)}

  def examples(split):
    for name, data in tar_members(paths[ARCHIVE]):
      if "images/" in name and name.endswith(".jpg"):
        family = lists[split].get(int(posixpath.splitext(posixpath.basename(name))[0]))
        if family is not None:
          yield Example(decode_image(data), label_of[family])

  return Extracted(families, {split: examples(split) for split in SPLIT_LISTS})


HANDLER = Handler(
    name="fgvc_aircraft_family",
    artefacts=(
        Artefact(ARCHIVE, url=f"https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/{ARCHIVE}",
                 checksum="md5:d4acdd33327262359767eeaa97a4f732"),
    ),
    extract=extract,
)
