"""SAIAPR TC-12 (Escalante et al. 2010, IAPR TC-12 images): multi-label over 276 region words; recipe A.

The Kaggle archive (nastyatima/iapr-tc12) holds saiaprtc12ok/benchmark/wlist.txt ("<id>\\t<word>", 1-based),
saiaprtc12ok/benchmark/saiapr_tc-12/<nn>/labels.txt ("<image> <region> <word id>" per region, nn 00-40),
saiaprtc12ok/matlab/matlab/{training,validation,testing}.mat (image ids), and the images
.../<nn>/images/<image id>.jpg twice: once under saiaprtc12ok/ (skipped, as dm_nevis does) and once outside.
NEVIS keeps the official training and validation images, in sorted zip order, labelled with the words of
their regions; the official test images are unused (dm_nevis handlers/iaprtc12.py).
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "iapr-tc12.zip"
WORDS = "saiaprtc12ok/benchmark/wlist.txt"
LABELS = "saiaprtc12ok/benchmark/saiapr_tc-12/{folder:02d}/labels.txt"
NUM_FOLDERS = 41
ID_LISTS = {name: f"saiaprtc12ok/matlab/matlab/{name}.mat" for name in ("training", "validation")}
_DUPLICATE = "saiaprtc12ok"
_IGNORED = re.compile(r"\.(eps|txt|mat|pdf)$")


def read_words(archive: zipfile.ZipFile) -> list[str]:
  words: dict[int, str] = {}
  for line in archive.read(WORDS).decode("utf-8").splitlines():
    if line.strip():
      number, _, word = line.partition("\t")
      words[int(number) - 1] = word.strip() or " "
  if sorted(words) != list(range(len(words))):
    raise ValueError(f"{WORDS}: word ids are not 1..{len(words)}")
  return [words[k] for k in range(len(words))]


def read_region_words(archive: zipfile.ZipFile) -> dict[int, list[int]]:
  """Image id -> sorted distinct word ids (0-based) of its regions."""
  pooled: dict[int, set[int]] = {}
  names = set(archive.namelist())
  for folder in range(NUM_FOLDERS):
    name = LABELS.format(folder=folder)
    if name not in names:
      continue
    rows = np.loadtxt(io.BytesIO(archive.read(name)), ndmin=2)
    for image_id, _, word in rows:
      pooled.setdefault(int(image_id), set()).add(int(word) - 1)
  return {image_id: sorted(words) for image_id, words in pooled.items()}


def read_ids(archive: zipfile.ZipFile) -> set[int]:
  import scipy.io

  ids: set[int] = set()
  for name, path in ID_LISTS.items():
    ids |= {int(i) for i in scipy.io.loadmat(io.BytesIO(archive.read(path)))[name].ravel()}
  return ids


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    words = read_words(archive)
    labels = read_region_words(archive)
    kept = read_ids(archive)

  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      if _DUPLICATE in name or "/images/" not in name or _IGNORED.search(name):
        continue
      image_id = int(PurePosixPath(name).stem)
      if image_id in kept:
        if image_id not in labels:
          raise ValueError(f"{name}: image {image_id} has no region labels")
        yield Example(decode_image(data), labels[image_id])

  return Extracted(words, {"all": examples()})


HANDLER = Handler(
    name="iaprtc12",
    # dm_nevis records an md5 for the Kaggle zip, but Kaggle rebuilds its zips, so none is checked here.
    artefacts=(Artefact(ARCHIVE, kaggle="nastyatima/iapr-tc12"),),
    extract=extract,
)
