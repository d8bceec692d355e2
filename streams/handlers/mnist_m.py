"""MNIST-M (Ganin et al. 2016): MNIST digits blended over BSDS500 patches; duplicates dropped; recipe A.

mnist_m.tar.gz holds mnist_m/mnist_m_{train,test}/NNNNNNNN.png and mnist_m/mnist_m_{train,test}_labels.txt
("NNNNNNNN.png <digit>" per line). Images are read in archive order, repeated (image, label) pairs dropped,
and recipe A drawn over the rest (dm_nevis handlers/mnist_m.py). dm_nevis merges the two label files into
one dict keyed by bare file name, so the test labels overwrite those of the train images with the same
names (00000000.png-00009000.png); here each image takes the label of its own folder's file.
"""
from __future__ import annotations

import posixpath
import re
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers._dedup import unique_examples
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "mnist_m.tar.gz"
PARTS = ("train", "test")
_LINE = re.compile(r"(\d+\.png) (\d+)")


def read_labels(archive: tarfile.TarFile, part: str) -> dict[str, int]:
  handle = archive.extractfile(f"mnist_m/mnist_m_{part}_labels.txt")
  labels = {}
  for line in handle.read().decode().splitlines():
    if line.strip():
      match = _LINE.search(line)
      if match is None:
        raise ValueError(f"mnist_m_{part}_labels.txt: cannot parse {line!r}")
      labels[f"mnist_m/mnist_m_{part}/{match.group(1)}"] = int(match.group(2))
  return labels


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with tarfile.open(paths[ARCHIVE], "r:*") as archive:
      label_of = {}
      for part in PARTS:
        label_of.update(read_labels(archive, part))
    with tarfile.open(paths[ARCHIVE], "r:*") as archive:
      for member in archive:
        name = posixpath.normpath(member.name)
        if member.isfile() and name in label_of:
          yield Example(decode_image(archive.extractfile(member).read()), label_of[name])

  return Extracted([str(d) for d in range(10)], {"all": unique_examples(examples())})


HANDLER = Handler(
    name="mnist_m",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://drive.google.com/uc?export=download&id=0B_tExHiYS-0veklUZHFYT19KYjg&confirm=t",
            checksum="md5:859df31c91afe82e80e5012ba928f279",
            manual="Google Drive often refuses scripted downloads: fetch mnist_m.tar.gz in a browser from "
            "https://drive.google.com/uc?export=download&id=0B_tExHiYS-0veklUZHFYT19KYjg",
        ),
    ),
    extract=extract,
)
