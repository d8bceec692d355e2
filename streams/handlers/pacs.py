"""PACS (Li et al. 2017): 7 classes in 4 domains; train on photo/art/cartoon, test on sketches.

Twelve HDF5 files <domain>_{train,val,test}.hdf5 (domains art_painting, cartoon, photo, sketch), each with
`images` (N x 227 x 227 x 3, BGR) and `labels` (1-7). Photo, art and cartoon images (files in name order),
with repeated (image, label) pairs dropped, are drawn 0.8/0.2 train/dev with RandomState(0); sketch images,
deduplicated too, 0.5/0.5 dev_test/test with a fresh RandomState(0) (dm_nevis handlers/pacs.py, which lists
its directory in an unspecified order). dm_nevis downloads the files from twelve Google Drive ids with md5
sums but does not say which id is which file, so the files are obtained by hand and not checksummed here.
Reading HDF5 needs the `h5py` package.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.errors import DataError
from nevis.streams.download import Artefact
from nevis.streams.handlers._dedup import unique_examples
from nevis.streams.handlers.base import Example, Extracted, Handler
from nevis.streams.handlers.office_caltech_10 import plan_domains
from nevis.streams.nevis22_catalogue import CATALOGUE

CLASS_NAMES = CATALOGUE["pacs"].class_names
TRAIN_DOMAINS = ("art_painting", "cartoon", "photo")
TEST_DOMAIN = "sketch"
PARTS = ("test", "train", "val")  # name order within a domain
FILES = {domain: tuple(f"{domain}_{part}.hdf5" for part in PARTS)
         for domain in TRAIN_DOMAINS + (TEST_DOMAIN,)}
_MANUAL = ("download the PACS HDF5 files (kfold: <domain>_{train,val,test}.hdf5 for art_painting, cartoon, "
           "photo and sketch) from the Google Drive folder linked at "
           "https://dali-dl.github.io/project_iccv2017.html")


def read_file(path: Path):
  """(images, labels) of one PACS file: arrays or lazily read HDF5 datasets."""
  try:
    import h5py
  except ImportError:
    raise DataError("PACS is stored as HDF5: install the `h5py` package to prepare it") from None
  with h5py.File(path, "r") as f:
    images, labels = f["images"], f["labels"]
    for i in range(len(labels)):
      yield np.asarray(images[i]), int(labels[i])


def _examples(paths: Mapping[str, Path], domains):
  for domain in domains:
    for filename in FILES[domain]:
      for bgr, label in read_file(paths[filename]):
        yield Example(np.ascontiguousarray(bgr[..., ::-1]).astype(np.uint8), label - 1)


def extract(paths: Mapping[str, Path]) -> Extracted:
  return Extracted(CLASS_NAMES, {
      "photo_art_cartoon": unique_examples(_examples(paths, TRAIN_DOMAINS)),
      "sketch": unique_examples(_examples(paths, (TEST_DOMAIN,))),
  })


def plan_splits(metas):
  return plan_domains(len(metas["photo_art_cartoon"]), len(metas["sketch"]), "photo_art_cartoon", "sketch")


HANDLER = Handler(
    name="pacs",
    artefacts=tuple(Artefact(filename, manual=_MANUAL) for names in FILES.values() for filename in names),
    extract=extract,
    plan_splits=plan_splits,
)
