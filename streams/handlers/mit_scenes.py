"""MIT Indoor 67 scenes (Quattoni & Torralba 2009): 67 categories; split recipe T (official 80/20 lists).

The Kaggle archive indoor-scenes-cvpr-2019.zip holds TrainImages.txt and TestImages.txt (lines
"<category>/<file>.jpg") and indoorCVPR_09/Images/<category>/<file>.jpg. Images are read in list order, RGB,
and class ids follow dm_nevis's category order (handlers/mit_scenes.py; "stairscase" is the archive's own
spelling). dm_nevis records an md5 for the Kaggle zip, but Kaggle rebuilds its zips, so none is checked here.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "indoor-scenes-cvpr-2019.zip"
LISTS = {"train": "TrainImages.txt", "test": "TestImages.txt"}
IMAGE_DIR = "indoorCVPR_09/Images"
CLASS_NAMES = (
    "office", "lobby", "stairscase", "winecellar", "church_inside", "studiomusic", "shoeshop", "bowling",
    "poolinside", "nursery", "meeting_room", "videostore", "bathroom", "library", "locker_room",
    "movietheater", "children_room", "concert_hall", "clothingstore", "pantry", "subway", "prisoncell",
    "inside_bus", "garage", "warehouse", "bookstore", "auditorium", "laboratorywet", "tv_studio", "buffet",
    "waitingroom", "laundromat", "bedroom", "greenhouse", "cloister", "elevator", "dining_room", "hairsalon",
    "livingroom", "deli", "restaurant_kitchen", "dentaloffice", "trainstation", "casino", "bar",
    "jewelleryshop", "kitchen", "museum", "grocerystore", "operating_room", "airport_inside", "gameroom",
    "fastfood_restaurant", "classroom", "bakery", "closet", "artstudio", "hospitalroom", "gym", "florist",
    "inside_subway", "toystore", "kindergarden", "restaurant", "mall", "corridor", "computerroom",
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples(split):
    with zipfile.ZipFile(paths[ARCHIVE]) as archive:
      names = [line.strip() for line in archive.read(LISTS[split]).decode("utf-8").splitlines()]
      for name in names:
        if name:
          yield Example(decode_image(archive.read(f"{IMAGE_DIR}/{name}")), _ID[name.split("/")[0]])

  return Extracted(CLASS_NAMES, {split: examples(split) for split in LISTS})


HANDLER = Handler(
    name="mit_scenes",
    artefacts=(Artefact(ARCHIVE, kaggle="itsahmad/indoor-scenes-cvpr-2019"),),
    extract=extract,
)
