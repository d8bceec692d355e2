"""TID2008 / TID2013 image quality: distorted images bucketed by their MSSIM value into 5 classes.

The .rar holds distorted_images/iSS_DD_L.bmp (subject SS 1-25, distortion DD, level L), reference images
and metrics_values/MSSIM.txt, one value per distorted image in subject, distortion, level order. As dm_nevis
(handlers/tid.py), every file is unpacked flat; the sorted values are cut into 5 runs of len // 5 and each
image takes the first run holding its value; images are read in file-name order (dm_nevis lists a
directory, an unspecified order). Note the label is MSSIM, a computed metric, not the mean opinion score.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from nevis.errors import DataError
from nevis.streams.handlers.base import Example, Extracted, decode_image

NUM_SUBJECTS = 25
NUM_BUCKETS = 5
PROPERTIES = {2008: (17, 4), 2013: (24, 5)}  # (distortion types, levels)
CLASS_NAMES = tuple(f"mssim_bucket_{b}" for b in range(NUM_BUCKETS))  # ascending MSSIM
UNRAR_HELP = "the archive is a .rar: install `unrar`, `unar` or `bsdtar` (libarchive-tools) to extract it"


def unpack_rar(archive: Path, destination: Path) -> None:
  """Unpacks every file of the .rar into `destination` (flat or not: files are found by name)."""
  commands = [
      ("unrar", ["unrar", "e", "-y", "-idq", str(archive), str(destination) + os.sep]),
      ("unar", ["unar", "-q", "-f", "-o", str(destination), str(archive)]),
      ("bsdtar", ["bsdtar", "-xf", str(archive), "-C", str(destination)]),
      ("7z", ["7z", "e", "-y", f"-o{destination}", str(archive)]),
  ]
  for tool, command in commands:
    if shutil.which(tool):
      subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
      return
  raise DataError(f"cannot extract {archive.name}: {UNRAR_HELP}")


def file_names(year: int) -> list[str]:
  types, levels = PROPERTIES[year]
  return [f"i{s:02d}_{d:02d}_{level}.bmp" for s in range(1, NUM_SUBJECTS + 1) for d in range(1, types + 1)
          for level in range(1, levels + 1)]


def bucket_of_value(values: list[float]) -> dict[float, int]:
  """Value -> the first of NUM_BUCKETS equal runs of the sorted values holding it (the remainder: none)."""
  per_bucket = len(values) // NUM_BUCKETS
  ordered = sorted(values)
  bucket = {}
  for b in reversed(range(NUM_BUCKETS)):
    for value in ordered[b * per_bucket:(b + 1) * per_bucket]:
      bucket[value] = b
  return bucket


def extract_year(paths: Mapping[str, Path], year: int) -> Extracted:
  archive = paths[f"tid{year}.rar"]

  def examples():
    with tempfile.TemporaryDirectory(prefix=f"tid{year}-") as scratch:
      unpack_rar(archive, Path(scratch))
      files = {}
      for folder, _, names in os.walk(scratch):
        for name in names:
          files.setdefault(name.lower(), Path(folder) / name)
      if "mssim.txt" not in files:
        raise DataError(f"{archive.name}: no MSSIM.txt among its files")
      lines = [line.strip() for line in files["mssim.txt"].read_text().splitlines() if line.strip()]
      expected = file_names(year)
      if len(lines) < len(expected):
        raise DataError(f"{archive.name}: MSSIM.txt has {len(lines)} values, expected {len(expected)}")
      value_of = dict(zip(expected, (float(v) for v in lines)))
      bucket = bucket_of_value(list(value_of.values()))
      for name in sorted(files):
        if name.endswith(".bmp") and name in value_of and value_of[name] in bucket:
          yield Example(decode_image(files[name].read_bytes()), bucket[value_of[name]])

  return Extracted(CLASS_NAMES, {"all": examples()})
