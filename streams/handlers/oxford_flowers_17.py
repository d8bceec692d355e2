"""Oxford 17 flowers (Nilsback & Zisserman 2006): 1,360 JPEGs, 80 per class; split recipe TD, split 1.

17flowers.tgz holds jpg/image_<nnnn>.jpg (1-based, in class blocks of 80: images 1-80 are class 0) and
jpg/files.txt. datasplits.mat holds the three official splits as image numbers; NEVIS uses the first,
trn1 / val1 / tst1 (dm_nevis handlers/oxford_flowers_17.py). Images are read in archive order.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

IMAGES = "17flowers.tgz"
SPLITS_FILE = "datasplits.mat"
IMAGES_PER_CLASS = 80
NUM_CLASSES = 17
# official split -> its variable in datasplits.mat (split 1 of 3)
SPLIT_VARIABLES = {"train": "trn1", "validation": "val1", "test": "tst1"}
_NAME = re.compile(r"jpg/image_(\d+)\.jpg$")
_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/"


def label_of_image(number: int) -> int:
  return (number - 1) // IMAGES_PER_CLASS


def read_split_ids(path: Path) -> dict[str, set[int]]:
  import scipy.io

  mat = scipy.io.loadmat(path)
  return {split: {int(i) for i in mat[name].ravel()} for split, name in SPLIT_VARIABLES.items()}


def extract(paths: Mapping[str, Path]) -> Extracted:
  ids = read_split_ids(paths[SPLITS_FILE])

  def examples(split):
    for name, data in tar_members(paths[IMAGES]):
      match = _NAME.search(name)
      if match and int(match.group(1)) in ids[split]:
        number = int(match.group(1))
        yield Example(decode_image(data), label_of_image(number), meta=number)

  # dm_nevis gives the classes no names; they are numbered in image-block order.
  names = [f"class_{k:02d}" for k in range(NUM_CLASSES)]
  return Extracted(names, {split: examples(split) for split in SPLIT_VARIABLES})


HANDLER = Handler(
    name="oxford_flowers_17",
    artefacts=(
        Artefact(IMAGES, url=_URL + IMAGES, checksum="md5:b59a65d8d1a99cd66944d474e1289eab"),
        Artefact(SPLITS_FILE, url=_URL + SPLITS_FILE, checksum="md5:4828cddfd0d803c5abbdebcb1e148a1e"),
    ),
    extract=extract,
)
