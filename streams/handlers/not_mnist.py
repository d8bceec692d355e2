"""notMNIST (small): letters A-J in many fonts, 28x28 grey PNGs; split recipe A after deduplication.

Kaggle's notmnist.zip holds notMNIST_small/notMNIST_small/<letter>/<base64 font name>.png (and a copy of
the large set, unused). Files are read in sorted name order, converted to grey, and an image that repeats
an earlier one of the same letter (same pixels) is dropped; two files that do not decode are skipped
(dm_nevis handlers/not_mnist.py).
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler

ARCHIVE = "notmnist.zip"
CLASS_NAMES = tuple("ABCDEFGHIJ")
_PREFIX = "notMNIST_small/notMNIST_small/"
UNREADABLE = frozenset({
    _PREFIX + "A/RGVtb2NyYXRpY2FCb2xkT2xkc3R5bGUgQm9sZC50dGY=.png",
    _PREFIX + "F/Q3Jvc3NvdmVyIEJvbGRPYmxpcXVlLnR0Zg==.png",
})
_ID = {letter: i for i, letter in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    seen: set[tuple[str, int]] = set()
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      for name in sorted(archive.namelist()):
        if not name.startswith(_PREFIX) or name.endswith("/") or name in UNREADABLE:
          continue
        if name.endswith("Thumbs.db"):
          continue
        label = _ID[posixpath.basename(posixpath.dirname(name))]
        image = decode_grey(archive.read(name))
        key = (hashlib.md5(image.tobytes()).hexdigest(), label)
        if key in seen:
          continue
        seen.add(key)
        yield Example(image, label)

  return Extracted(CLASS_NAMES, {"all": examples()})


def decode_grey(data: bytes) -> np.ndarray:
  """Decoded and converted to 8-bit grey, as NEVIS stores notMNIST (and hashes it for deduplication)."""
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    return np.asarray(image.convert("L"), dtype=np.uint8)


# dm_nevis pins md5 e2a47bb2a88c2c6bcae60d9f95223ace for Kaggle's zip; Kaggle rebuilds its zips, so the
# bytes are not checked here.
HANDLER = Handler(
    name="not_mnist",
    artefacts=(Artefact(ARCHIVE, kaggle="jwjohnson314/notmnist"),),
    extract=extract,
)
