"""PASCAL VOC 2005 as whole-image classification: car, motorbike, bike, person; split recipe T.

voc2005_1.tar.gz (official train) and voc2005_2.tar.gz (official test) hold VOC2005_<n>/PNGImages/
<collection>/<image>.png. Each class takes the PNGs under its collections, listed below, where NEVIS
dropped the collections that mix the two sets. Images are read class by class, collection by
collection, each in archive order (dm_nevis handlers/pascal_voc2005.py).
"""
from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

TRAIN = "voc2005_1.tar.gz"
TEST = "voc2005_2.tar.gz"
CLASS_NAMES = ("car", "motorbike", "bike", "person")
_URL = "http://host.robots.ox.ac.uk/pascal/VOC/download/"
# class -> collection folders, in NEVIS's reading order (car, bike, motorbike, person).
TRAIN_COLLECTIONS = {
    "car": ("Caltech_cars", "ETHZ_sideviews-cars", "TUGraz_cars"),
    "bike": ("TUGraz_bike",),
    "motorbike": ("Caltech_motorbikes_side",),
    "person": ("TUGraz_person",),
}
TEST_COLLECTIONS = {
    "car": ("car", "voiture"),
    "bike": ("bicycle", "bike", "velo"),
    "motorbike": ("motocyclette", "motorbike", "motorcycle"),
    "person": ("INRIA_graz-person-test", "INRIA_inria-person-test", "pedestrian", "pieton"),
}


def _examples(path: Path, root: str, collections: Mapping[str, tuple[str, ...]]):
  with tarfile.open(path, "r:*") as archive:
    members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith("png")]
    for class_name, folders in collections.items():
      for folder in folders:
        # NEVIS matches by prefix, exactly as here.
        prefix = f"{root}/PNGImages/{folder}"
        chosen = [m for m in members if m.name.startswith(prefix)]
        if not chosen:
          raise ValueError(f"{path.name}: no PNG images under {prefix}")
        for member in chosen:
          yield Example(decode_image(archive.extractfile(member).read()), CLASS_NAMES.index(class_name))


def extract(paths: Mapping[str, Path]) -> Extracted:
  return Extracted(CLASS_NAMES, {
      "train": _examples(paths[TRAIN], "VOC2005_1", TRAIN_COLLECTIONS),
      "test": _examples(paths[TEST], "VOC2005_2", TEST_COLLECTIONS),
  })


HANDLER = Handler(
    name="pascal_voc2005",
    artefacts=(
        Artefact(TRAIN, url=_URL + TRAIN, checksum="md5:6fbeaee73a81c462b190ca837b977896"),
        Artefact(TEST, url=_URL + TEST, checksum="md5:15ec3d318b84ffdfa25f1e05de0014e2"),
    ),
    extract=extract,
)
