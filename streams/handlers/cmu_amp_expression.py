"""CMU AMP facial expressions (chenlab.ece.cornell.edu): 13 subjects x 75 grey 64x64 BMPs; own split.

faceExpressionDatabase.zip holds <subject letter><nn>.bmp, A00.bmp ... M74.bmp, plus a readme. Per
subject, in order A ... M, one `np.random.default_rng(1)` permutation of the 75 image numbers gives 42
train, 9 dev, 9 dev_test and 15 test images (sizes int(75 * 0.8 * (0.7, 0.15, 0.15))); images are read
in sorted zip order (dm_nevis handlers/cmu_amp_expression.py).
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "faceExpressionDatabase.zip"
NUM_SUBJECTS = 13
IMAGES_PER_SUBJECT = 75
CLASS_NAMES = tuple(chr(ord("A") + i) for i in range(NUM_SUBJECTS))
# Per subject: train, dev, dev_test sizes; the rest (15) is test.
SPLIT_SIZES = (42, 9, 9)
_SPLIT_SEED = 1
_FILE = re.compile(r"([A-Z])(\d\d)\.bmp$")


def split_of_file() -> dict[str, str]:
  """File name -> nevis split, NEVIS's seeded per-subject assignment."""
  rng = np.random.default_rng(_SPLIT_SEED)
  bounds = np.cumsum(SPLIT_SIZES)
  result = {}
  for subject in CLASS_NAMES:
    parts = np.split(rng.permutation(IMAGES_PER_SUBJECT), bounds)
    for split, numbers in zip(("train", "dev", "dev_test", "test"), parts):
      for number in numbers:
        result[f"{subject}{number:02d}.bmp"] = split
  return result


def extract(paths: Mapping[str, Path]) -> Extracted:
  split_of = split_of_file()

  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      basename = posixpath.basename(name)
      if _FILE.match(basename) and basename in split_of:
        yield Example(decode_image(data), CLASS_NAMES.index(basename[0]), meta=split_of[basename])

  return Extracted(CLASS_NAMES, {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="cmu_amp_expression",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="http://chenlab.ece.cornell.edu/_download/FaceAuthentication/faceExpressionDatabase.zip",
            checksum="md5:f6c2fdf87c095c17e2527c36a0528966",
        ),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
