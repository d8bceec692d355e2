"""Food-101N: web photos of Food-101's classes with noisy labels; split recipe T on the verified subsets.

Food-101N_release.zip holds Food-101N_release/images/<class>/<file>.jpg and meta/verified_train.tsv /
verified_val.tsv ("class_name/key\tverification_label" after a header). Every listed image is used,
verified or not, labelled by its folder in Food-101's class order; verified_train is split 70/15/15,
verified_val is test. As in NEVIS, the last line of each tsv is dropped (it is empty when the file ends
with a newline) and images are read in archive order (dm_nevis handlers/food101n.py).
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image
from nevis.streams.handlers.food101 import CLASS_NAMES, LABEL_OF

ARCHIVE = "Food-101N_release.zip"
_META = {
    "train": "Food-101N_release/meta/verified_train.tsv",
    "test": "Food-101N_release/meta/verified_val.tsv",
}
_IMAGES = "Food-101N_release/images"


def read_listed(archive: zipfile.ZipFile, name: str) -> set[str]:
  lines = archive.read(name).decode("utf-8").split("\n")[1:-1]
  return {line.strip().split("\t")[0] for line in lines}


def _examples(path: Path, wanted: set[str]):
  with zipfile.ZipFile(path) as archive:
    for name in archive.namelist():
      if not name.startswith(_IMAGES) or name.endswith("/"):
        continue
      class_name = posixpath.basename(posixpath.dirname(name))
      if f"{class_name}/{posixpath.basename(name)}" not in wanted:
        continue
      yield Example(decode_image(archive.read(name)), LABEL_OF[class_name])


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    listed = {split: read_listed(archive, name) for split, name in _META.items()}
  return Extracted(CLASS_NAMES, {split: _examples(paths[ARCHIVE], listed[split]) for split in listed})


HANDLER = Handler(
    name="food101n",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://drive.google.com/u/0/uc?id=1s9NyXpi9bO-UZUvk65WVvEUExNkZ1v9V&export=download"
            "&confirm=y",
            checksum="md5:596b41b48de43342ef1efbb2fd508e06",
            manual="Google Drive often refuses scripted downloads: open "
                   "https://drive.google.com/uc?id=1s9NyXpi9bO-UZUvk65WVvEUExNkZ1v9V in a browser "
                   "(linked from https://kuanghuei.github.io/Food-101N/) and save Food-101N_release.zip",
        ),
    ),
    extract=extract,
)
