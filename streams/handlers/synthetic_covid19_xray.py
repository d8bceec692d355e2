"""Synthetic COVID-19 chest X-rays (Zunair and Hamza): GAN-made normal and pneumonia images; recipe A.

Two release zips, G_NC.zip and G_PC.zip, hold G1/<n>.png (normal) and G2/<n>.png (pneumonia). The zips
are read in that order and each in sorted name order (dm_nevis handlers/synthetic_covid19_xray.py).
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

CLASS_NAMES = ("Normal", "Pneumonia")
LABEL_OF_FOLDER = {"G1": 0, "G2": 1}
_URL = "https://github.com/hasibzunair/synthetic-covid-cxr-dataset/releases/download/v0.1/"
_MD5 = {"G_NC.zip": "bd82149d00283fca892bc41e997a3070", "G_PC.zip": "acf56668f97be81fd8c05c4308f80c61"}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for zip_name in _MD5:
      with zipfile.ZipFile(paths[zip_name]) as archive:
        for name in sorted(archive.namelist()):
          if name.endswith("/") or name.endswith("Thumbs.db"):
            continue
          folder = posixpath.dirname(name)
          if folder not in LABEL_OF_FOLDER:
            raise ValueError(f"{zip_name}: {name} is in neither G1 nor G2")
          yield Example(decode_image(archive.read(name)), LABEL_OF_FOLDER[folder])

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="synthetic_covid19_xray",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
)
