"""NIH ChestX-ray14: 14 findings plus "No Finding" as a multi-hot label; split recipe T on the official lists.

Kaggle's data.zip (nih-chest-xrays/data) holds Data_Entry_2017.csv ("Image Index,Finding Labels,...",
findings joined by '|'), train_val_list.txt and test_list.txt (one file name a line) and
images_<nnn>/images/<patient>_<follow-up>.png. Images are read in sorted path order; the listed train_val
images are split 70/15/15, the test_list images are test (dm_nevis handlers/nih_chest_xray.py).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "data.zip"
CLASS_NAMES = (
    "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema", "Fibrosis",
    "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass", "Hernia", "No Finding",
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
LISTS = {"train": "train_val_list.txt", "test": "test_list.txt"}
LABELS_CSV = "Data_Entry_2017.csv"
_IGNORED = re.compile(r".*Thumbs.db$|.pdf|.txt|__MACOSX|DS_Store")


def read_findings(text: str) -> dict[str, list[int]]:
  findings = {}
  for line in text.splitlines()[1:]:
    if line.strip():
      fields = line.split(",")
      findings[fields[0]] = [_ID[name] for name in fields[1].split("|")]
  return findings


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    listed = {split: set(archive.read(name).decode("utf-8").split()) for split, name in LISTS.items()}
    findings = read_findings(archive.read(LABELS_CSV).decode("utf-8"))

  def examples(split):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in sorted(archive.namelist()):
        if name.endswith("/") or _IGNORED.search(name) or posixpath.basename(name) not in listed[split]:
          continue
        yield Example(decode_image(archive.read(name)), findings[posixpath.basename(name)])

  return Extracted(CLASS_NAMES, {split: examples(split) for split in LISTS})


# dm_nevis pins md5 ddd3acbfa23adf60ac08312b3c4040e2 for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="nih_chest_xray",
    artefacts=(Artefact(ARCHIVE, kaggle="nih-chest-xrays/data"),),
    extract=extract,
)
