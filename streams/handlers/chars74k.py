"""Chars74K English (natural, hand-drawn, font-rendered) 0-9 A-Z a-z; duplicates dropped; split recipe A.

EnglishImg.tgz holds English/Img/{GoodImg,BadImag}/Bmp/SampleNNN/*.png, EnglishHnd.tgz English/Hnd/Img/
SampleNNN/*.png, EnglishFnt.tgz English/Fnt/SampleNNN/*.png; the label is NNN - 1. Lists.tgz holds
English/<category>/lists.mat (and lists_var_size.mat, read last wins) whose struct `list` gives ALLnames
and TSTind: the names ALLnames[TSTind[:, -1] - 1] are the official test images. dm_nevis (handlers/
chars74k.py) chains the non-test images of each category, then the test images of each category, converts
all to RGB, drops repeated (image, label) pairs and draws recipe A over the rest. Its category order is
that of a frozenset (varies between runs); here it is Img, Hnd, Fnt.
"""
from __future__ import annotations

import io
import posixpath
import re
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers._dedup import unique_examples
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

CATEGORIES = ("Img", "Hnd", "Fnt")
ARCHIVES = {category: f"English{category}.tgz" for category in CATEGORIES}
LISTS = "Lists.tgz"
# the folder an image path must contain for each category (Hnd also ships stroke trajectories)
_MARKER = {"Img": "Bmp", "Hnd": "Img", "Fnt": ""}
CLASS_NAMES = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SAMPLE = re.compile(r"Sample(\d{3})")
_URL = "http://www.ee.surrey.ac.uk/CVSSP/demos/chars74k/"
_MD5 = {"Img": "85d157e0c58f998e1cda8def62bcda0d", "Hnd": "95e9ee6d929809ef4c2f509f86388c72",
        "Fnt": "f6710b1302a7e9693d904b16389d9d8a"}


def _strings(array) -> list[str]:
  out = []
  for item in np.asarray(array, dtype=object).ravel():
    while isinstance(item, np.ndarray):
      item = item.ravel()[0] if item.size else ""
    out.append(str(item).strip())
  return out


def test_names(lists_tgz: Path) -> dict[str, set[str]]:
  """{category: names of its official test images} from Lists.tgz."""
  from scipy.io import loadmat

  names = {}
  for path, data in tar_members(lists_tgz):
    if "English" in path and posixpath.basename(path) in ("lists.mat", "lists_var_size.mat"):
      record = loadmat(io.BytesIO(data))["list"].ravel()[0]
      all_names = _strings(record["ALLnames"])
      test_index = np.asarray(record["TSTind"])
      test_index = test_index.reshape(-1, 1) if test_index.ndim == 1 else test_index
      test_index = test_index[:, -1]
      names[path.split("/")[-2]] = {all_names[int(i) - 1] for i in test_index}
  return names


def is_test(path: str, names: set[str]) -> bool:
  """Whether a test name ends the path (with or without extension) at a '/' boundary."""
  stem = posixpath.splitext(path)[0]
  for candidate in (path, stem):
    parts = candidate.split("/")
    if any("/".join(parts[i:]) in names for i in range(len(parts))):
      return True
  return False


def _category_examples(archive: Path, category: str, names: set[str], want_test: bool):
  for path, data in tar_members(archive):
    if _MARKER[category] not in path or not path.endswith(".png"):
      continue
    if is_test(path, names) != want_test:
      continue
    image = decode_image(data)
    if image.ndim == 2:
      image = np.repeat(image[:, :, None], 3, axis=2)
    yield Example(image, int(_SAMPLE.search(path).group(1)) - 1)


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    names = test_names(paths[LISTS])
    for want_test in (False, True):
      for category in CATEGORIES:
        yield from _category_examples(paths[ARCHIVES[category]], category, names.get(category, set()),
                                      want_test)

  return Extracted(CLASS_NAMES, {"all": unique_examples(examples())})


HANDLER = Handler(
    name="chars74k",
    artefacts=tuple(
        Artefact(ARCHIVES[c], url=_URL + ARCHIVES[c], checksum=f"md5:{_MD5[c]}") for c in CATEGORIES)
    + (Artefact(LISTS, url=_URL + LISTS, checksum="md5:8dfe916169fa10b86466776a4a1d7c5f"),),
    extract=extract,
)
