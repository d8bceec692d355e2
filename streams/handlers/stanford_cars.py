"""Stanford Cars (Krause et al. 2013): 16,185 images of 196 models; split recipe T (official test flag).

car_ims.tgz holds car_ims/<nnnnnn>.jpg; cars_annos.mat holds `annotations` (per image: relative_im_path,
bounding box, class 1-196, test 0/1) and `class_names`. NEVIS uses whole images, labels class - 1, and reads
the tar in archive order, RGB (dm_nevis handlers/stanford_cars.py). The original host is gone.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

IMAGES = "car_ims.tgz"
ANNOTATIONS = "cars_annos.mat"
_DEAD_HOST = "http://ai.stanford.edu/~jkrause/car196/"


def read_annotations(path: Path) -> tuple[list[str], dict[str, dict[str, int]]]:
  """Class names, and {"train"|"test": {image file name: label}} from cars_annos.mat."""
  import numpy as np
  import scipy.io

  mat = scipy.io.loadmat(path, squeeze_me=True)
  names = [str(name) for name in np.atleast_1d(mat["class_names"])]
  labels: dict[str, dict[str, int]] = {"train": {}, "test": {}}
  for row in np.atleast_1d(mat["annotations"]):
    split = "test" if int(row["test"]) == 1 else "train"
    labels[split][posixpath.basename(str(row["relative_im_path"]))] = int(row["class"]) - 1
  return names, labels


def extract(paths: Mapping[str, Path]) -> Extracted:
  names, labels = read_annotations(paths[ANNOTATIONS])

  def examples(split):
    for name, data in tar_members(paths[IMAGES]):
      label = labels[split].get(posixpath.basename(name))
      if label is not None:
        yield Example(decode_image(data), label)

  return Extracted(names, {split: examples(split) for split in ("train", "test")})


def _manual(filename: str, md5: str) -> Artefact:
  return Artefact(
      filename,
      checksum=f"md5:{md5}",
      manual=f"{_DEAD_HOST}{filename} answers 404 since 2023: obtain {filename} (md5 {md5}) from a mirror",
  )


HANDLER = Handler(
    name="stanford_cars",
    artefacts=(
        _manual(IMAGES, "d5c8f0aa497503f355e17dc7886c3f14"),
        _manual(ANNOTATIONS, "b407c6086d669747186bd1d764ff9dbc"),
    ),
    extract=extract,
)
