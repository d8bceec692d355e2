"""Extended Yale Face Database B from Kaggle (souvadrahati/extended-yale-dataset-b); split by pose.

The zip holds one folder per subject with grey PGMs named yaleB<subject>_P<pose>A<azimuth>E<elevation>
.pgm, plus *_Ambient.pgm (no face) and *info files, which are skipped. Classes are the 28 subjects in
sorted order. Poses P00, P02, P03, P04, P07 are train, P05 dev, P01 dev_test, P06 and P08 test;
images are read in sorted zip order (dm_nevis handlers/extended_yaleb.py).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

KAGGLE_DATASET = "souvadrahati/extended-yale-dataset-b"
ARCHIVE = "extended-yale-dataset-b.zip"
SPLIT_OF_POSE = {
    "P00": "train", "P02": "train", "P03": "train", "P04": "train", "P07": "train",
    "P05": "dev", "P01": "dev_test", "P06": "test", "P08": "test",
}
_SKIPPED = re.compile(r"info$|Ambient\.pgm$")


def subject_and_pose(member_name: str) -> tuple[str, str] | None:
  """('yaleB11', 'P00') for a face image, None for anything else."""
  if _SKIPPED.search(member_name):
    return None
  stem, extension = posixpath.splitext(posixpath.basename(member_name))
  if extension != ".pgm" or stem.count("_") != 1:
    return None
  subject, rest = stem.split("_")
  return subject, rest[:3]


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    class_names = sorted({found[0] for n in archive.namelist() if (found := subject_and_pose(n))})
  label_of = {name: i for i, name in enumerate(class_names)}

  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      found = subject_and_pose(name)
      if found is not None and found[1] in SPLIT_OF_POSE:
        yield Example(decode_image(data), label_of[found[0]], meta=SPLIT_OF_POSE[found[1]])

  return Extracted(class_names, {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="extended_yaleb",
    # Kaggle rebuilds its zips, so their bytes are not stable: no checksum (dm_nevis pinned md5
    # ef37284be91fe0c81dcd96baa948a2db for the copy it downloaded).
    artefacts=(Artefact(ARCHIVE, kaggle=KAGGLE_DATASET),),
    extract=extract,
    plan_splits=plan_splits,
)
