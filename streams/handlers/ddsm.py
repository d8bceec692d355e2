"""CBIS-DDSM mammography (JPEG version): benign, malignant, benign without callback; split recipe T.

Kaggle's cbis-ddsm-breast-cancer-image-dataset.zip holds csv/dicom_info.csv (PatientID, image_path
"CBIS-DDSM/jpeg/<series uid>/<n>.jpg", ...), csv/{calc,mass}_case_description_{train,test}_set.csv (one
abnormality a row: `image file path` "<case>/<uid>/<uid>/000000.dcm", `pathology`, ...) and
jpeg/<series uid>/<n>.jpg. NEVIS merges calc and mass cases, joins each case (the first folder of its
image file path) to every dicom_info row of that PatientID, keeps the first row per image path and labels
the image with that row's pathology: whole mammograms only, since crops and masks carry a suffixed
PatientID (dm_nevis handlers/ddsm.py). The official train set is split 70/15/15, test is test.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "cbis-ddsm-breast-cancer-image-dataset.zip"
CLASS_NAMES = ("BENIGN", "MALIGNANT", "BENIGN_WITHOUT_CALLBACK")
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
DICOM_INFO = "csv/dicom_info.csv"
CASES = {
    "train": ("csv/calc_case_description_train_set.csv", "csv/mass_case_description_train_set.csv"),
    "test": ("csv/calc_case_description_test_set.csv", "csv/mass_case_description_test_set.csv"),
}
_CASE_IMAGE = "image file path"


def jpeg_path(image_path: str) -> str:
  """dicom_info's image_path -> the file's path in the zip: jpeg/<series uid>/<n>.jpg."""
  series = posixpath.basename(posixpath.dirname(image_path))
  return posixpath.join("jpeg", series, posixpath.basename(image_path))


def labelled_images(archive: zipfile.ZipFile) -> dict[str, list[tuple[str, int]]]:
  """Official split -> [(path in the zip, label)] in NEVIS's order."""
  import pandas as pd

  dicom = pd.read_csv(archive.open(DICOM_INFO))
  dicom["case"] = dicom["PatientID"]
  dicom["image_path"] = dicom["image_path"].apply(jpeg_path)
  result = {}
  for split, names in CASES.items():
    cases = pd.concat([pd.read_csv(archive.open(name)) for name in names])
    cases["case"] = cases[_CASE_IMAGE].apply(lambda path: path.split("/")[0])
    joined = pd.merge(cases, dicom, on="case", how="inner")
    joined = joined.drop_duplicates(subset="image_path", ignore_index=True)
    result[split] = [(path, _ID[label]) for path, label in zip(joined["image_path"], joined["pathology"])]
  return result


def extract(paths: Mapping[str, Path]) -> Extracted:
  with zipfile.ZipFile(paths[ARCHIVE]) as archive:
    images = labelled_images(archive)

  def examples(split):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for path, label in images[split]:
        yield Example(decode_image(archive.read(path)), label)

  return Extracted(CLASS_NAMES, {split: examples(split) for split in images})


# dm_nevis pins md5 eba16e95a30193fcbda1d2668d96015f for Kaggle's zip; Kaggle rebuilds its zips.
HANDLER = Handler(
    name="ddsm",
    artefacts=(Artefact(ARCHIVE, kaggle="awsaf49/cbis-ddsm-breast-cancer-image-dataset"),),
    extract=extract,
)
