"""BIWI Kinect head pose: three head angles, each quantised into 5 equal-count bins, as a 15-way multi-hot.

Kaggle's biwi-kinect-head-pose-database.zip holds .../faces_0/<subject 01-24>/frame_<n>_rgb.png with
frame_<n>_pose.txt (a 3x3 rotation matrix, then a blank line and the head position). Each matrix becomes
(yaw, pitch, roll) in degrees, the Tait-Bryan z-y'-x'' angles of its quaternion (as pyquaternion's
`yaw_pitch_roll`, which NEVIS uses). Bin edges are the 0, 20, ..., 100% quantiles of each angle over every
pose file; angle i in bin b sets label 5 * i + b, the maximum falling in the last bin. That is the label
NEVIS trains on: its stored labels put the maximum one bin too far and its loader patches them back
(dm_nevis handlers/biwi.py, streams/nevis.py). Splits by subject: 1, 4, 8, 10 test; 3, 9 dev_test;
2, 7 dev; the rest train.
"""
from __future__ import annotations

import io
import math
import posixpath
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "biwi-kinect-head-pose-database.zip"
NUM_BINS = 5
NUM_ANGLES = 3
SUBJECTS = {"test": (1, 4, 8, 10), "dev_test": (3, 9), "dev": (2, 7)}  # every other subject is train
_POSE_SUFFIX = "_pose.txt"


def read_rotation(text: str) -> np.ndarray:
  rows = [line.split() for line in text.splitlines() if line.strip()][:3]
  return np.array(rows, dtype=np.float64)


def quaternion_of(rotation: np.ndarray) -> np.ndarray:
  """(w, x, y, z) of a rotation matrix acting on column vectors, by the branch with the largest pivot."""
  m = rotation.T
  if m[2, 2] < 0:
    if m[0, 0] > m[1, 1]:
      t = 1 + m[0, 0] - m[1, 1] - m[2, 2]
      q = [m[1, 2] - m[2, 1], t, m[0, 1] + m[1, 0], m[2, 0] + m[0, 2]]
    else:
      t = 1 - m[0, 0] + m[1, 1] - m[2, 2]
      q = [m[2, 0] - m[0, 2], m[0, 1] + m[1, 0], t, m[1, 2] + m[2, 1]]
  elif m[0, 0] < -m[1, 1]:
    t = 1 - m[0, 0] - m[1, 1] + m[2, 2]
    q = [m[0, 1] - m[1, 0], m[2, 0] + m[0, 2], m[1, 2] + m[2, 1], t]
  else:
    t = 1 + m[0, 0] + m[1, 1] + m[2, 2]
    q = [t, m[1, 2] - m[2, 1], m[2, 0] - m[0, 2], m[0, 1] - m[1, 0]]
  q = np.array(q) * (0.5 / math.sqrt(t))
  return q / np.linalg.norm(q)


def yaw_pitch_roll(rotation: np.ndarray) -> tuple[float, float, float]:
  """Degrees, in pyquaternion's order and convention."""
  w, x, y, z = quaternion_of(rotation)
  yaw = math.atan2(2 * (w * z - x * y), 1 - 2 * (y * y + z * z))
  pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y + z * x))))
  roll = math.atan2(2 * (w * x - y * z), 1 - 2 * (x * x + y * y))
  return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def equal_count_edges(values: Sequence[float], num_bins: int = NUM_BINS) -> np.ndarray:
  """num_bins + 1 edges: interpolated quantiles of the sorted values, min first and max last."""
  n = len(values)
  return np.interp(np.linspace(0, n, num_bins + 1), np.arange(n), np.sort(values))


def bin_of(value: float, edges: np.ndarray) -> int:
  if value >= edges[-1]:
    return len(edges) - 2
  return int(np.digitize(value, edges)) - 1


def pose_labels(angles: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
  """Image path -> its 3 active labels, from each image's (yaw, pitch, roll)."""
  matrix = np.array(list(angles.values()), dtype=np.float64).reshape(-1, NUM_ANGLES)
  edges = [equal_count_edges(matrix[:, i]) for i in range(NUM_ANGLES)]
  return {
      name: [NUM_BINS * i + bin_of(value, edges[i]) for i, value in enumerate(values)]
      for name, values in angles.items()
  }


def subject_of(path: str) -> int:
  return int(posixpath.basename(posixpath.dirname(path)))


def split_of_subject(subject: int) -> str:
  for split, subjects in SUBJECTS.items():
    if subject in subjects:
      return split
  return "train"


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    angles = {}
    for name in sorted(archive.namelist()):
      if name.endswith(_POSE_SUFFIX):
        rotation = read_rotation(io.TextIOWrapper(io.BytesIO(archive.read(name)), "utf-8").read())
        angles[name[:-len(_POSE_SUFFIX)] + "_rgb.png"] = yaw_pitch_roll(rotation)
  labels = pose_labels(angles)

  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      present = set(archive.namelist())
      for name in sorted(labels):
        if name in present:
          split = split_of_subject(subject_of(name))
          yield Example(decode_image(archive.read(name)), labels[name], meta=split)

  names = [f"{angle}_bin{b}" for angle in ("yaw", "pitch", "roll") for b in range(NUM_BINS)]
  return Extracted(names, {"all": examples()})


def plan_splits(metas) -> splits.SplitPlan:
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


# dm_nevis pins md5 59d49d96e5719f248f6d66f8ff205569 for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="biwi",
    artefacts=(Artefact(ARCHIVE, kaggle="kmader/biwi-kinect-head-pose-database"),),
    extract=extract,
    plan_splits=plan_splits,
)
