"""ShanghaiTech crowd counting (parts A and B) as 10-way classification of the head count.

Kaggle's shanghaitech.zip holds ShanghaiTech/part_{A,B}/{train,test}_data/images/IMG_<n>.jpg and
.../ground-truth/GT_IMG_<n>.mat, whose `image_info[0][0][0][0][0]` lists one point per head (a copy under
shanghaitech_h5_empty/ is ignored). Counts are cut into 10 buckets of about equal size over all images;
the training images of both parts (in archive order) are permuted with np.random.default_rng(1) and cut
70/15/15 into train/dev/dev_test; the test images are test (dm_nevis handlers/shanghai_tech.py).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers._counting import count_buckets, label_of
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "shanghaitech.zip"
NUM_BUCKETS = 10
MAX_COUNT = 5000  # NEVIS's histogram width; the largest real count is about 3,100
_DEV_FRACTION = 0.15
_DEV_TEST_FRACTION = 0.15
_PERMUTATION_SEED = 1


def image_of_ground_truth(name: str) -> str:
  """<root>/<part>/<split>_data/ground-truth/GT_IMG_<n>.mat -> .../<split>_data/images/IMG_<n>.jpg."""
  pieces = name.split("/")
  stem = pieces[-1].split("_", 1)[1].rsplit(".", 1)[0]
  return "/".join(pieces[:3] + ["images", f"{stem}.jpg"])


def head_count(data: bytes) -> int:
  import scipy.io

  return int(scipy.io.loadmat(io.BytesIO(data))["image_info"][0][0][0][0][0].shape[0])


def _read_counts(path: Path) -> dict[str, int]:
  counts = {}
  with zipfile.ZipFile(path) as archive:
    for member in archive.infolist():  # archive order fixes the permutation's meaning
      name = member.filename
      if member.is_dir() or "shanghaitech_h5_empty" in name or not name.endswith("mat"):
        continue
      counts[image_of_ground_truth(name)] = head_count(archive.read(member))
  return counts


def extract(paths: Mapping[str, Path]) -> Extracted:
  counts = _read_counts(paths[ARCHIVE])
  label_of_count, names = count_buckets(list(counts.values()), NUM_BUCKETS, MAX_COUNT)
  files = {"train": [n for n in counts if "train" in n], "test": [n for n in counts if "train" not in n]}

  def examples(split):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in files[split]:
        yield Example(decode_image(archive.read(name)), label_of(counts[name], label_of_count))

  return Extracted(names, {split: examples(split) for split in files}, plan_splits=plan_splits)


def plan_splits(metas) -> splits.SplitPlan:
  n = len(metas["train"])
  order = np.random.default_rng(seed=_PERMUTATION_SEED).permutation(n)
  # The same float expressions as NEVIS, so the cut points agree for every n.
  cut_train = int((1 - _DEV_TEST_FRACTION - _DEV_FRACTION) * n)
  cut_dev = int((1 - _DEV_TEST_FRACTION) * n)
  plan = splits.empty_plan()
  plan["train"].append(("train", order[:cut_train]))
  plan["dev"].append(("train", order[cut_train:cut_dev]))
  plan["dev_test"].append(("train", order[cut_dev:]))
  plan["test"].append(("test", np.arange(len(metas["test"]))))
  return plan


# dm_nevis pins md5 f547d65447063405ea78ab7fa9ae721b for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="shanghai_tech",
    artefacts=(Artefact(ARCHIVE, kaggle="tthien/shanghaitech"),),
    extract=extract,
    plan_splits=plan_splits,
)
