"""Office-Caltech-10: the 10 classes Office-31 shares with Caltech-256; train on Office, test on Caltech.

domain_adaptation_images.tar.gz (Office-31) holds <domain>/images/<class>/frame_NNNN.jpg for the amazon,
dslr and webcam domains (searched anywhere in the path, so a leading folder is accepted);
256_ObjectCategories.tar holds 256_ObjectCategories/NNN.<class>/NNN_NNNN.jpg. Office images of the 10
classes, in archive order, are drawn 0.8/0.2 train/dev with RandomState(0); Caltech images (converted to
RGB), in archive order, are drawn 0.5/0.5 dev_test/test by a fresh RandomState(0) (dm_nevis
handlers/office_caltech_10.py). Both archives are on Google Drive.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members
from nevis.streams.nevis22_catalogue import CATALOGUE

OFFICE = "domain_adaptation_images.tar.gz"
CALTECH = "256_ObjectCategories.tar"
CLASS_NAMES = CATALOGUE["office_caltech_10"].class_names  # Office-31's folder names
CALTECH_CLASSES = ("backpack", "touring-bike", "calculator", "head-phones", "computer-keyboard", "laptop-101",
                   "computer-monitor", "computer-mouse", "coffee-mug", "video-projector")
_OFFICE_PATH = re.compile(r"(\w+)/images/(.+)/frame_(\d{4})\.jpg$")
_CALTECH_PATH = re.compile(r"^256_ObjectCategories/(\d{3})\.(.+)/(\d{3})_(\d{4})\.jpg$")
TRAIN_AND_DEV = {"train": 0.8, "dev": 0.2}
DEV_TEST_AND_TEST = {"dev-test": 0.5, "test": 0.5}
_GOOGLE_DRIVE = "https://drive.google.com/u/0/uc?id={}&export=download&confirm=y"


def _examples(path: Path, pattern: re.Pattern, class_ids: Mapping[str, int], rgb: bool):
  for name, data in tar_members(path):
    match = pattern.search(name)
    if match and match.group(2) in class_ids:
      image = decode_image(data)
      if rgb and image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
      yield Example(image, class_ids[match.group(2)])


def extract(paths: Mapping[str, Path]) -> Extracted:
  office_ids = {name: i for i, name in enumerate(CLASS_NAMES)}
  caltech_ids = {name: i for i, name in enumerate(CALTECH_CLASSES)}
  return Extracted(CLASS_NAMES, {
      "office": _examples(paths[OFFICE], _OFFICE_PATH, office_ids, rgb=False),
      "caltech": _examples(paths[CALTECH], _CALTECH_PATH, caltech_ids, rgb=True),
  })


def plan_domains(train_count: int, test_count: int, train: str, test: str) -> splits.SplitPlan:
  """Two independent seeded draws: `train` -> train/dev 0.8/0.2, `test` -> dev_test/test 0.5/0.5."""
  plan = splits.empty_plan()
  draws = ((train, train_count, TRAIN_AND_DEV), (test, test_count, DEV_TEST_AND_TEST))
  for official, count, fractions in draws:
    assignment = splits.multinomial_assignment(count, fractions)
    for split in ("train", "dev", "dev_test", "test"):
      where = np.flatnonzero(assignment == split)
      if len(where):
        plan[split].append((official, where))
  return plan


def plan_splits(metas):
  return plan_domains(len(metas["office"]), len(metas["caltech"]), "office", "caltech")


HANDLER = Handler(
    name="office_caltech_10",
    artefacts=(
        Artefact(CALTECH, url=_GOOGLE_DRIVE.format("1r6o0pSROcV1_VwT4oSjA2FBUSCWGuxLK"),
                 checksum="md5:67b4f42ca05d46448c6bb8ecd2220f6d",
                 manual="Google Drive often refuses scripted downloads: fetch 256_ObjectCategories.tar "
                 "(Caltech-256) in a browser"),
        Artefact(OFFICE, url=_GOOGLE_DRIVE.format("0B4IapRTv9pJ1WGZVd1VDMmhwdlE"),
                 checksum="md5:1b536d114869a5a8aa4580b89e9758fb",
                 manual="Google Drive often refuses scripted downloads: fetch "
                 "domain_adaptation_images.tar.gz (Office-31) in a browser"),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
