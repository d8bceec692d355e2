"""Mall crowd counting (Chen et al. 2012): 2,000 frames, person counts bucketed into 10 classes.

mall_dataset.zip holds mall_dataset/frames/seq_NNNNNN.jpg (NNNNNN = 1-2000) and mall_dataset/mall_gt.mat
(`count`, 2000 x 1). Frames 1-800 are permuted by np.random.default_rng(1) (as 1-based ids): the first 560
train, the next 120 dev, the last 120 dev_test; frames 801-2000 are test. Frames are read in zip order
(dm_nevis handlers/mall.py).
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers._counting import count_buckets, label_of
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "mall_dataset.zip"
LABELS = "mall_dataset/mall_gt.mat"
NUM_CLASSES = 10
MAX_COUNT = 100
NUM_TRAIN_FRAMES = 800
DEV_FRACTION = DEV_TEST_FRACTION = 0.15
_PERMUTATION_SEED = 1


def split_of_frames(num_frames: int) -> dict[int, str]:
  """Frame number (1-based) -> nevis split."""
  order = np.random.default_rng(seed=_PERMUTATION_SEED).permutation(NUM_TRAIN_FRAMES) + 1
  train_end = int((1 - DEV_TEST_FRACTION - DEV_FRACTION) * NUM_TRAIN_FRAMES)
  dev_end = int((1 - DEV_TEST_FRACTION) * NUM_TRAIN_FRAMES)
  split_of = {int(f): "train" for f in order[:train_end]}
  split_of.update({int(f): "dev" for f in order[train_end:dev_end]})
  split_of.update({int(f): "dev_test" for f in order[dev_end:]})
  split_of.update({f: "test" for f in range(NUM_TRAIN_FRAMES + 1, num_frames + 1)})
  return split_of


def extract(paths: Mapping[str, Path]) -> Extracted:
  from scipy.io import loadmat

  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    counts = np.asarray(loadmat(io.BytesIO(archive.read(LABELS)))["count"]).reshape(-1).astype(int).tolist()
  label_of_count, names = count_buckets(counts, NUM_CLASSES, MAX_COUNT)
  split_of = split_of_frames(len(counts))

  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for info in archive.infolist():
        if info.is_dir() or not info.filename.endswith("jpg"):
          continue
        frame = int(posixpath.basename(info.filename)[4:-4])  # seq_000123.jpg
        if frame not in split_of:
          continue
        label = label_of(counts[frame - 1], label_of_count)
        yield Example(decode_image(archive.read(info)), label, meta=split_of[frame])

  return Extracted(names, {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="mall",
    artefacts=(
        Artefact(ARCHIVE, url="https://personal.ie.cuhk.edu.hk/~ccloy/files/datasets/mall_dataset.zip",
                 checksum="md5:48a772b5e55e8e9a66a3c8f98598fc3b"),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
