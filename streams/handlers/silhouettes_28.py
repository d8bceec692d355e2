"""Caltech 101 Silhouettes, 28x28 binary images; split recipe TD on the split1 files.

caltech101_silhouettes_28_split1.mat holds {train,val,test}_data (N x 784, values 0/1) and
{train,val,test}_labels (N x 1, 1-101); caltech101_silhouettes_28.mat gives `classnames`. Each row is
reshaped row-major to 28x28 as dm_nevis does (handlers/silhouettes.py); labels are shifted to 0-100.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

SIZE = 28
DATA = f"caltech101_silhouettes_{SIZE}.mat"
SPLIT = f"caltech101_silhouettes_{SIZE}_split1.mat"
_URL = "https://people.cs.umass.edu/~marlin/data/"
# official split name -> prefix of its arrays in the split file
_PREFIX = {"train": "train", "validation": "val", "test": "test"}


def _mat_strings(array) -> list[str]:
  out = []
  for item in np.asarray(array, dtype=object).ravel():
    while isinstance(item, np.ndarray):
      item = item.ravel()[0] if item.size else ""
    out.append(str(item))
  return out


def _examples(split_file: dict, prefix: str):
  images = np.asarray(split_file[f"{prefix}_data"], dtype=np.float64)
  labels = np.asarray(split_file[f"{prefix}_labels"]).reshape(-1).astype(np.int64) - 1
  for row, label in zip(images, labels):
    yield Example((row.reshape(SIZE, SIZE) * 255).astype(np.uint8), int(label))


def extract(paths: Mapping[str, Path]) -> Extracted:
  from scipy.io import loadmat

  names = _mat_strings(loadmat(paths[DATA])["classnames"])
  split_file = loadmat(paths[SPLIT])
  return Extracted(names, {split: _examples(split_file, p) for split, p in _PREFIX.items()})


HANDLER = Handler(
    name="silhouettes_28",
    artefacts=(
        Artefact(DATA, url=_URL + DATA, checksum="md5:1432d2809e8bf111f1104a234731ddb1"),
        Artefact(SPLIT, url=_URL + SPLIT, checksum="md5:4483e9c14b188fd09937f9ea6f9ea777"),
    ),
    extract=extract,
)
