"""MS COCO 2017 as single-label object crops: one example per annotated box; split recipe T.

annotations_trainval2017.zip holds annotations/instances_{train,val}2017.json; train2017.zip and val2017.zip
hold <split>2017/<file_name>. Boxes narrower or shorter than 16 px are dropped; the crop is the box clipped
to the image; the label is category_id - 1, so 90 ids of which 80 occur (dm_nevis handlers/coco.py).
Examples follow the JSON's annotation order. train2017 is official train, val2017 official test.
dm_nevis also downloads test2017.zip and image_info_test2017.zip, which it never reads: omitted here.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, crop_box, decode_image

TRAIN_IMAGES = "train2017.zip"
VAL_IMAGES = "val2017.zip"
ANNOTATIONS = "annotations_trainval2017.zip"
NUM_CLASSES = 90
MIN_BOX_SIDE = 16
_URL = "http://images.cocodataset.org/"


def read_annotations(path: Path, split: str) -> dict:
  with zipfile.ZipFile(path) as archive:
    return json.loads(archive.read(f"annotations/instances_{split}2017.json"))


def class_names(info: dict) -> list[str]:
  """Names of ids 0-89 (category id - 1); ids COCO leaves unused get a placeholder."""
  names = {c["id"] - 1: c["name"] for c in info.get("categories", [])}
  return [names.get(i, f"unused_{i + 1}") for i in range(NUM_CLASSES)]


def _examples(images_zip: Path, info: dict, folder: str):
  file_of = {image["id"]: image["file_name"] for image in info["images"]}
  with zipfile.ZipFile(images_zip) as archive:
    for annotation in info["annotations"]:
      x, y, width, height = annotation["bbox"]
      if width < MIN_BOX_SIDE or height < MIN_BOX_SIDE:
        continue
      image = decode_image(archive.read(f"{folder}/{file_of[annotation['image_id']]}"))
      yield Example(crop_box(image, (x, y, x + width, y + height)), annotation["category_id"] - 1)


def extract(paths: Mapping[str, Path]) -> Extracted:
  train_info = read_annotations(paths[ANNOTATIONS], "train")
  val_info = read_annotations(paths[ANNOTATIONS], "val")
  return Extracted(
      class_names(train_info),
      {"train": _examples(paths[TRAIN_IMAGES], train_info, "train2017"),
       "test": _examples(paths[VAL_IMAGES], val_info, "val2017")},
  )


HANDLER = Handler(
    name="coco_single_label",
    artefacts=(
        Artefact(TRAIN_IMAGES, url=_URL + "zips/train2017.zip",
                 checksum="md5:cced6f7f71b7629ddf16f17bbcfab6b2"),
        Artefact(VAL_IMAGES, url=_URL + "zips/val2017.zip", checksum="md5:442b8da7639aecaf257c1dceb8ba8c80"),
        Artefact(ANNOTATIONS, url=_URL + "annotations/annotations_trainval2017.zip",
                 checksum="md5:f4bbac642086de4f52a3fdda2de5fa2c"),
    ),
    extract=extract,
)
