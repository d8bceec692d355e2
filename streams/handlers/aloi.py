"""ALOI, quarter resolution (aloi.science.uva.nl red4 tars): 1000 objects; tested on unseen illumination.

aloi_red4_<set>.tar holds <folder>/<object>/<object>_<view code>.png for object 1-1000. The official
train split is the illumination-colour ('col') then viewpoint ('view') images, drawn 70/15/15 into
train/dev/dev_test as recipe T does; the illumination-direction ('ill') images are test. Label = object
- 1; images are read tar by tar in archive order (dm_nevis handlers/aloi.py). NEVIS also downloads the
stereo tar but never reads it, so it is not fetched here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

_URL = "http://aloi.science.uva.nl/tars/"
TRAIN_TARS = ("aloi_red4_col.tar", "aloi_red4_view.tar")
TEST_TARS = ("aloi_red4_ill.tar",)
NUM_OBJECTS = 1000
CLASS_NAMES = tuple(str(obj) for obj in range(1, NUM_OBJECTS + 1))
_MD5 = {
    "aloi_red4_ill.tar": "0f72c3acf66908e61b6f8d5bf5981193",
    "aloi_red4_col.tar": "c0486588258de8a26df4ed7aff0b34f8",
    "aloi_red4_view.tar": "ca29f342bb0c1fa4788e9f76f591ec59",
}


def label_of(member_name: str) -> int | None:
  parts = member_name.split("/")
  if len(parts) < 3 or not parts[1].isdigit():
    return None
  return int(parts[1]) - 1


def _examples(paths: Mapping[str, Path], tars: tuple[str, ...]):
  for tar in tars:
    for name, data in tar_members(paths[tar]):
      label = label_of(name)
      if label is not None:
        yield Example(decode_image(data), label)


def extract(paths: Mapping[str, Path]) -> Extracted:
  return Extracted(CLASS_NAMES, {"train": _examples(paths, TRAIN_TARS), "test": _examples(paths, TEST_TARS)})


def plan_splits(metas):
  return splits.recipe_train({official: len(items) for official, items in metas.items()})


HANDLER = Handler(
    name="aloi",
    artefacts=tuple(Artefact(name, url=_URL + name, checksum=f"md5:{md5}") for name, md5 in _MD5.items()),
    extract=extract,
    plan_splits=plan_splits,
)
