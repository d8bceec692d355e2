"""TRANCOS v3 vehicle counting: counts bucketed into 10 classes; split recipe TD on its image sets.

TRANCOS_v3.tar.gz holds TRANCOS_v3/images/image-<s>-<n>.jpg with image-<s>-<n>.txt (one line per vehicle)
and TRANCOS_v3/image_sets/{training,validation,test}.txt (one image file name per line). Counts are
bucketed over [0, 200) (dm_nevis handlers/trancos.py); each split's images are read in archive order.
NEVIS's source is a SharePoint share link, which usually needs a browser.
"""
from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers._counting import count_buckets, label_of
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "TRANCOS_v3.tar.gz"
NUM_CLASSES = 10
MAX_COUNT = 200
_IMAGES = "TRANCOS_v3/images/"
_SETS = "TRANCOS_v3/image_sets/"
SET_FILES = {"train": "training.txt", "validation": "validation.txt", "test": "test.txt"}


def _read_metadata(path: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
  counts, sets = {}, {}
  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      if not member.isfile():
        continue
      name = member.name
      if name.startswith(_IMAGES) and name.endswith(".txt"):
        lines = archive.extractfile(member).read().splitlines()
        counts[posixpath.basename(name)[:-3] + "jpg"] = len(lines)
      elif name.startswith(_SETS):
        for split, filename in SET_FILES.items():
          if name.endswith(filename):
            sets[split] = [line.strip() for line in archive.extractfile(member).read().decode().splitlines()
                           if line.strip()]
  missing = [f for s, f in SET_FILES.items() if s not in sets]
  if missing:
    raise ValueError(f"{path.name}: no image set file {missing}")
  return counts, sets


def extract(paths: Mapping[str, Path]) -> Extracted:
  counts, sets = _read_metadata(paths[ARCHIVE])
  label_of_count, names = count_buckets(list(counts.values()), NUM_CLASSES, MAX_COUNT)

  def examples(split):
    wanted = set(sets[split])
    with tarfile.open(paths[ARCHIVE], "r:*") as archive:
      for member in archive:
        image = posixpath.basename(member.name)
        if member.isfile() and image in wanted:
          label = label_of(counts[image], label_of_count)
          yield Example(decode_image(archive.extractfile(member).read()), label)

  return Extracted(names, {split: examples(split) for split in SET_FILES})


HANDLER = Handler(
    name="trancos",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://universidaddealcala-my.sharepoint.com/:u:/g/personal/gram_uah_es/"
            "Eank6osXQgxEqa-1bb0nVsoBc3xO4XDwENc_g0nc6t58BA?&Download=1",
            checksum="md5:e9b4d5a62ab1fe5f542ec8326f2d4fda",
            manual="download TRANCOS_v3.tar.gz in a browser from the SharePoint link of "
            "https://gram.web.uah.es/data/datasets/trancos/index.html",
        ),
    ),
    extract=extract,
)
