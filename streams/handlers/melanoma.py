"""ISIC 2017 melanoma classification (part 3): train 80/20 train/dev, validation dev_test, test test.

Each official split is a zip of <zip stem>/<image id>.jpg (plus superpixel PNGs, ignored) and a
ground-truth CSV "image_id,melanoma,seborrheic_keratosis". Label 0 melanoma, 1 seborrheic keratosis,
2 benign nevus. NEVIS draws train/dev with np.random.default_rng(1).permutation over the CSV rows (80%
train) and reads images in sorted zip order (dm_nevis handlers/melanoma.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

_URL = "https://isic-challenge-data.s3.amazonaws.com/2017/"
FILES = {
    "train": ("ISIC-2017_Training_Data.zip", "ISIC-2017_Training_Part3_GroundTruth.csv"),
    "validation": ("ISIC-2017_Validation_Data.zip", "ISIC-2017_Validation_Part3_GroundTruth.csv"),
    "test": ("ISIC-2017_Test_v2_Data.zip", "ISIC-2017_Test_v2_Part3_GroundTruth.csv"),
}
_MD5 = {
    "ISIC-2017_Training_Data.zip": "a14a7e622c67a358797ae59abb8a0b0c",
    "ISIC-2017_Training_Part3_GroundTruth.csv": "0cb4add57c65c22ca1a1cb469ad1f0c5",
    "ISIC-2017_Validation_Data.zip": "8d6419d942112f709894c0d82f6c9038",
    "ISIC-2017_Validation_Part3_GroundTruth.csv": "8d4826a76adcd8fb928ca52a23ebae4c",
    "ISIC-2017_Test_v2_Data.zip": "5f6a0b5e1f2972bd1f5ea02680489f09",
    "ISIC-2017_Test_v2_Part3_GroundTruth.csv": "9e957b72a0c4f9e0d924889fd03b36ed",
}
CLASS_NAMES = ("melanoma", "seborrheic keratosis", "benign nevi")
TRAIN_FRACTION = 0.8
_PERMUTATION_SEED = 1


def read_labels(csv_path: Path, zip_name: str) -> list[tuple[str, int]]:
  """(path inside the zip, label) per CSV row, in CSV order."""
  stem = zip_name[:-len(".zip")]
  rows = []
  lines = csv_path.read_text().splitlines()[1:]
  for line in lines:
    if not line.strip():
      continue
    image_id, melanoma, keratosis = line.split(",")
    melanoma, keratosis = float(melanoma) == 1, float(keratosis) == 1
    if melanoma and keratosis:
      raise ValueError(f"{csv_path.name}: {image_id} has two classes")
    rows.append((f"{stem}/{image_id}.jpg", 0 if melanoma else 1 if keratosis else 2))
  return rows


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples(split):
    zip_name, csv_name = FILES[split]
    label_of = dict(read_labels(paths[csv_name], zip_name))
    for name, data in zip_members(paths[zip_name]):
      if name in label_of:
        yield Example(decode_image(data), label_of[name], meta=name)

  zip_name, csv_name = FILES["train"]
  plan = plan_splits_with(read_labels(paths[csv_name], zip_name))
  return Extracted(CLASS_NAMES, {split: examples(split) for split in FILES}, plan_splits=plan)


def train_paths(rows: list[tuple[str, int]]) -> set[str]:
  """The training-CSV paths NEVIS puts in train (the rest of the CSV is dev)."""
  order = np.random.default_rng(seed=_PERMUTATION_SEED).permutation(len(rows))
  return {rows[i][0] for i in order[:int(len(rows) * TRAIN_FRACTION)]}


def plan_splits_with(train_rows):
  def plan_splits(metas):
    chosen = train_paths(train_rows)
    in_train = np.array([path in chosen for path in metas["train"]], dtype=bool)
    plan = splits.empty_plan()
    plan["train"].append(("train", np.flatnonzero(in_train)))
    plan["dev"].append(("train", np.flatnonzero(~in_train)))
    plan["dev_test"].append(("validation", np.arange(len(metas["validation"]))))
    plan["test"].append(("test", np.arange(len(metas["test"]))))
    return plan

  return plan_splits


HANDLER = Handler(
    name="melanoma",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
)
