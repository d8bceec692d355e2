"""LFW-a (aligned LFW, Wolf et al.), grey: face identification over subjects with at least 5 images.

lfwa.zip holds lfw2/<Subject_Name>/<Subject_Name>_<nnnn>.jpg. Per subject, in zip order, the last 2 images
are test, the one before dev_test, the one before that dev, the rest train; labels number the kept
subjects in order of first appearance: 423 subjects, 5,985 images (dm_nevis handlers/lfwa.py). The file is
on Google Drive.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image
from nevis.streams.handlers.lfw import MIN_IMAGES, split_of_position

ARCHIVE = "lfwa.zip"


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    names = [n for n in archive.namelist() if posixpath.splitext(n)[1] == ".jpg"]
  files: dict[str, list[str]] = {}
  for name in names:
    files.setdefault(posixpath.basename(posixpath.dirname(name)), []).append(name)
  kept = [subject for subject, members in files.items() if len(members) >= MIN_IMAGES]
  label_of = {subject: i for i, subject in enumerate(kept)}
  split_of = {name: split_of_position(position, len(files[s])) for s in kept
              for position, name in enumerate(files[s])}

  def examples():
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in names:
        if name in split_of:
          subject = posixpath.basename(posixpath.dirname(name))
          yield Example(decode_image(archive.read(name)), label_of[subject], meta=split_of[name])

  return Extracted(kept, {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="lfwa",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://drive.google.com/u/0/uc?id=1p1wjaqpTh_5RHfJu4vUh8JJCdKwYMHCp"
            "&export=download&confirm=y",
            checksum="md5:96313a4780499f939bc4a06d5bebaf7d",
            manual="Google Drive often refuses scripted downloads: fetch lfwa.zip in a browser from "
            "https://drive.google.com/uc?id=1p1wjaqpTh_5RHfJu4vUh8JJCdKwYMHCp",
        ),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
