"""German Traffic Sign Recognition Benchmark (Stallkamp et al. 2011): 43 classes; split recipe T.

GTSRB_Final_Training_Images.zip holds GTSRB/Final_Training/Images/<class, 5 digits>/<track>_<n>.ppm (plus a
GT-<class>.csv each); GTSRB_Final_Test_Images.zip holds GTSRB/Final_Test/Images/<nnnnn>.ppm, labelled by
GT-final_test.csv inside GTSRB_Final_Test_GT.zip ("Filename;Width;Height;Roi.X1;...;ClassId"). Whole images
(no ROI crop), RGB, zips in sorted name order (dm_nevis handlers/german_tsr.py).
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

TRAIN = "GTSRB_Final_Training_Images.zip"
TEST = "GTSRB_Final_Test_Images.zip"
TEST_LABELS = "GTSRB_Final_Test_GT.zip"
LABEL_FILE = "GT-final_test.csv"
NUM_CLASSES = 43
_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"


def read_test_labels(path: Path) -> dict[str, int]:
  """Image file name -> class, from the ground-truth CSV (the header row is skipped)."""
  import zipfile

  with zipfile.ZipFile(path) as archive:
    lines = archive.read(LABEL_FILE).decode("utf-8").splitlines()
  labels = {}
  for line in lines[1:]:
    fields = line.strip().split(";")
    if len(fields) > 1:
      labels[fields[0]] = int(fields[-1])
  return labels


def extract(paths: Mapping[str, Path]) -> Extracted:
  test_labels = read_test_labels(paths[TEST_LABELS])

  def train():
    for name, data in zip_members(paths[TRAIN]):
      if name.endswith(".ppm"):
        yield Example(decode_image(data), int(posixpath.basename(posixpath.dirname(name))))

  def test():
    for name, data in zip_members(paths[TEST]):
      if name.endswith(".ppm"):
        yield Example(decode_image(data), test_labels[posixpath.basename(name)])

  return Extracted([f"{k:05d}" for k in range(NUM_CLASSES)], {"train": train(), "test": test()})


HANDLER = Handler(
    name="german_tsr",
    artefacts=(
        Artefact(TRAIN, url=_URL + TRAIN, checksum="md5:f33fd80ac59bff73c82d25ab499e03a3"),
        Artefact(TEST, url=_URL + TEST, checksum="md5:c7e4e6327067d32654124b0fe9e82185"),
        Artefact(TEST_LABELS, url=_URL + TEST_LABELS, checksum="md5:fe31e9c9270bbcd7b84b7f21a9d9d9e5"),
    ),
    extract=extract,
)
