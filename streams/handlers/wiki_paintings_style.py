"""WikiArt paintings by style (ArtGAN's split, Tan et al. 2017): 27 styles; split recipe T.

wikiart.zip holds wikiart/<Style>/<artist>_<title>.jpg; wikiart_csv.zip holds style_train.csv and
style_val.csv, rows "<Style>/<file>.jpg,<style id>" without a header. dm_nevis (handlers/wiki_paintings.py)
reads the CSVs with pandas' default header row, so the first row of each is never used: kept here so the
examples, and hence the seeded split, are NEVIS's. The official val CSV is the test split; images the zip
cannot inflate are skipped, and the longest side is shrunk to 256 at extraction.
"""
from __future__ import annotations

import csv
import io
import zipfile
import zlib
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image
from nevis.streams.nevis22_catalogue import CATALOGUE

IMAGES = "wikiart.zip"
CSVS = "wikiart_csv.zip"
SPLIT_FILES = {"train": "style_train.csv", "test": "style_val.csv"}
MAX_SIDE = 256
CLASS_NAMES = CATALOGUE["wiki_paintings_style"].class_names
_URL = "http://web.fsktm.um.edu.my/~cschan/source/ICIP2017/"


def read_rows(path: Path, name: str) -> list[tuple[str, int]]:
  """(image path inside wikiart/, style id) of a CSV, its first row dropped as dm_nevis does."""
  with zipfile.ZipFile(path) as archive:
    text = archive.read(name).decode("utf-8")
  rows = [row for row in csv.reader(io.StringIO(text)) if row]
  return [(image, int(label)) for image, label in rows[1:]]


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples(split):
    rows = read_rows(paths[CSVS], SPLIT_FILES[split])
    with zipfile.ZipFile(paths[IMAGES]) as archive:
      for image, label in rows:
        try:
          data = archive.read(f"wikiart/{image}")
        except (zlib.error, zipfile.BadZipFile):
          continue  # a few members of the real archive are damaged
        yield Example(decode_image(data), label)

  return Extracted(CLASS_NAMES, {split: examples(split) for split in SPLIT_FILES})


HANDLER = Handler(
    name="wiki_paintings_style",
    artefacts=(
        Artefact(IMAGES, url=_URL + IMAGES, checksum="md5:c6b43cbcd474b875a5626ffde3b627e1"),
        Artefact(CSVS, url=_URL + CSVS, checksum="md5:0d221e7cb0812da6b59044cfca9aafee"),
    ),
    extract=extract,
    image_rule=f"max_side:{MAX_SIDE}",
)
