"""CASIA-HWDB1.1 offline isolated characters (Gnt1.1): 3,926 classes, grey; split recipe T.

Gnt1.1TrainPart1.zip, Gnt1.1TrainPart2.zip (official train) and Gnt1.1Test.zip (official test) hold one
.gnt file per writer: records of <uint32 LE size><2-byte GB2312 code><uint16 LE width><uint16 LE height>
<width x height bytes, background 255>. Images are inverted (background 0) as dm_nevis does
(handlers/casia_hwdb.py); zips are read in sorted member order. dm_nevis numbers the labels in the order of
a Python set (varies between runs); here they follow the sorted 2-byte codes of all three zips, and a code
that does not decode as GB2312 is named by its hex value.
"""
from __future__ import annotations

import codecs
import struct
import zipfile
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

TRAIN = ("Gnt1.1TrainPart1.zip", "Gnt1.1TrainPart2.zip")
TEST = ("Gnt1.1Test.zip",)
_URL = "http://www.nlpr.ia.ac.cn/databases/Download/Offline/CharData/"
_MD5 = {"Gnt1.1TrainPart1.zip": "72bac7b6a5ce37f184f277421adfacfd",
        "Gnt1.1TrainPart2.zip": "a8b76e4eccfb1fd8d56c448f6a096c27",
        "Gnt1.1Test.zip": "e74f9a4863e73d8b80ed402452c97448"}
_HEADER = 10


def gnt_records(data: bytes, with_images: bool = True) -> Iterator[tuple[bytes, np.ndarray | None]]:
  """(2-byte code, inverted image or None) of each record of a .gnt file."""
  offset = 0
  while offset < len(data):
    size, code, width, height = struct.unpack_from("<I2sHH", data, offset)
    if size != width * height + _HEADER:
      raise ValueError(f"corrupt .gnt record at byte {offset}: size {size} for {width}x{height}")
    image = None
    if with_images:
      pixels = np.frombuffer(data, np.uint8, width * height, offset + _HEADER).reshape(height, width)
      image = 255 - pixels
    yield code, image
    offset += size


def code_name(code: bytes) -> str:
  try:
    return codecs.decode(code, "gb2312")
  except (UnicodeDecodeError, LookupError):
    return "0x" + code.hex()


def _gnt_files(path: Path) -> Iterator[bytes]:
  with zipfile.ZipFile(path) as archive:
    for name in sorted(archive.namelist()):
      if not name.endswith("/"):
        yield archive.read(name)


def extract(paths: Mapping[str, Path]) -> Extracted:
  codes = set()
  for zip_name in TRAIN + TEST:
    for data in _gnt_files(paths[zip_name]):
      codes.update(code for code, _ in gnt_records(data, with_images=False))
  ordered = sorted(codes)
  label_of = {code: i for i, code in enumerate(ordered)}

  def examples(zip_names):
    for zip_name in zip_names:
      for data in _gnt_files(paths[zip_name]):
        for code, image in gnt_records(data):
          yield Example(image, label_of[code])

  return Extracted([code_name(c) for c in ordered], {"train": examples(TRAIN), "test": examples(TEST)})


HANDLER = Handler(
    name="casia_hwdb",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
)
