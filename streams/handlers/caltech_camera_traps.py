"""Caltech Camera Traps, ECCV'18 subset: 16 classes; train locations 80/20, unseen locations dev_test/test.

eccv_18_annotations.tar.gz holds eccv_18_annotation_files/{train,trans_val,trans_test}_annotations.json
(COCO-style: `categories` id/name, `annotations` image_id/category_id; an image's last annotation wins).
eccv_18_all_images_sm.tar.gz holds eccv_18_all_images_sm/<image id>.jpg, read in archive order and
converted to RGB. train_annotations images are drawn 0.8/0.2 train/dev (RandomState(0)); trans_val is
dev_test, trans_test is test (dm_nevis handlers/caltech_camera_traps.py). The images tar (6.5 GB) is read
once, not once per split. NEVIS's lilablobssc.blob.core.windows.net host is retired; LILA serves the same
files from storage.googleapis.com.
"""
from __future__ import annotations

import json
import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image
from nevis.streams.nevis22_catalogue import CATALOGUE

IMAGES = "eccv_18_all_images_sm.tar.gz"
ANNOTATIONS = "eccv_18_annotations.tar.gz"
CLASS_NAMES = CATALOGUE["caltech_camera_traps"].class_names
# official split -> annotation file
ANNOTATION_FILES = {"train": "train_annotations.json", "validation": "trans_val_annotations.json",
                    "test": "trans_test_annotations.json"}
_URL = "https://storage.googleapis.com/public-datasets-lila/caltechcameratraps/"


def read_labels(path: Path) -> dict[str, dict[str, int]]:
  """{official split: {image id: label}}."""
  ids = {name: i for i, name in enumerate(CLASS_NAMES)}
  result = {}
  with tarfile.open(path, "r:*") as archive:
    for split, filename in ANNOTATION_FILES.items():
      data = json.load(archive.extractfile(f"eccv_18_annotation_files/{filename}"))
      names = {c["id"]: c["name"] for c in data["categories"]}
      result[split] = {a["image_id"]: ids[names[a["category_id"]]] for a in data["annotations"]}
  return result


def extract(paths: Mapping[str, Path]) -> Extracted:
  labels = read_labels(paths[ANNOTATIONS])

  def examples():
    with tarfile.open(paths[IMAGES], "r:*") as archive:
      for member in archive:
        if not member.isfile():
          continue
        image_id = posixpath.splitext(posixpath.basename(member.name))[0]
        for split, label_of in labels.items():
          if image_id in label_of:
            image = decode_image(archive.extractfile(member).read())
            if image.ndim == 2:
              image = np.repeat(image[:, :, None], 3, axis=2)
            yield Example(image, label_of[image_id], meta=split)
            break

  return Extracted(CLASS_NAMES, {"all": examples()})


def plan_splits(metas):
  """Recipe TD on one pass: official train drawn 0.8/0.2, validation dev_test, test test."""
  official = np.array(metas["all"], dtype=object)
  in_train = np.flatnonzero(official == "train")
  assignment = splits.multinomial_assignment(len(in_train), splits.FRACTIONS_TRAIN_AND_DEV_ONLY)
  plan = splits.empty_plan()
  for split in ("train", "dev"):
    plan[split].append(("all", in_train[assignment == split]))
  plan["dev_test"].append(("all", np.flatnonzero(official == "validation")))
  plan["test"].append(("all", np.flatnonzero(official == "test")))
  return plan


HANDLER = Handler(
    name="caltech_camera_traps",
    artefacts=(
        Artefact(IMAGES, url=_URL + IMAGES, checksum="md5:8143c17aa2a12872b66f284ff211531f"),
        Artefact(ANNOTATIONS, url=_URL + ANNOTATIONS, checksum="md5:66a1f481b44aa1edadf75c9cfbd27aba"),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
