"""Food-101: 101 dishes, 101,000 photos; split recipe T on the official meta/train.txt and meta/test.txt.

food-101.tar.gz holds food-101/images/<class>/<id>.jpg and food-101/meta/{train,test}.txt listing
"<class>/<id>" per line. Images are read in archive order; label ids follow NEVIS's own class order
(dm_nevis handlers/food101.py), which Food-101N shares.
"""
from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image

ARCHIVE = "food-101.tar.gz"
_META = {"train": "food-101/meta/train.txt", "test": "food-101/meta/test.txt"}
CLASS_NAMES = (
    'takoyaki', 'bruschetta', 'lobster_bisque', 'bread_pudding', 'scallops', 'pancakes', 'donuts',
    'ceviche', 'grilled_salmon', 'ravioli', 'prime_rib', 'waffles', 'eggs_benedict', 'beef_tartare',
    'chicken_wings', 'clam_chowder', 'panna_cotta', 'ramen', 'french_fries', 'seaweed_salad', 'lasagna',
    'fried_calamari', 'deviled_eggs', 'carrot_cake', 'strawberry_shortcake', 'chocolate_mousse', 'poutine',
    'beignets', 'caesar_salad', 'bibimbap', 'garlic_bread', 'cheese_plate', 'shrimp_and_grits',
    'caprese_salad', 'beet_salad', 'dumplings', 'macarons', 'churros', 'samosa', 'creme_brulee',
    'miso_soup', 'french_onion_soup', 'risotto', 'pulled_pork_sandwich', 'hot_and_sour_soup',
    'onion_rings', 'spaghetti_bolognese', 'edamame', 'beef_carpaccio', 'steak', 'grilled_cheese_sandwich',
    'peking_duck', 'frozen_yogurt', 'mussels', 'red_velvet_cake', 'oysters', 'greek_salad', 'foie_gras',
    'pho', 'spaghetti_carbonara', 'pad_thai', 'huevos_rancheros', 'sashimi', 'sushi', 'gnocchi', 'hummus',
    'pork_chop', 'falafel', 'chicken_curry', 'breakfast_burrito', 'club_sandwich', 'cannoli',
    'chocolate_cake', 'fried_rice', 'apple_pie', 'guacamole', 'macaroni_and_cheese', 'hot_dog',
    'cup_cakes', 'paella', 'ice_cream', 'escargots', 'spring_rolls', 'crab_cakes', 'croque_madame',
    'hamburger', 'baby_back_ribs', 'baklava', 'pizza', 'filet_mignon', 'cheesecake',
    'lobster_roll_sandwich', 'tiramisu', 'omelette', 'tacos', 'nachos', 'gyoza', 'chicken_quesadilla',
    'french_toast', 'tuna_tartare', 'fish_and_chips',
)
LABEL_OF = {name: i for i, name in enumerate(CLASS_NAMES)}


def read_split_lists(path: Path) -> dict[str, set[str]]:
  with tarfile.open(path, "r:*") as archive:
    return {
        split: {line.decode("utf-8").strip() for line in archive.extractfile(member)}
        for split, member in _META.items()
    }


def _examples(path: Path, wanted: set[str]):
  # Streaming mode: one sequential pass over the 5 GB archive.
  with tarfile.open(path, "r|gz") as archive:
    for member in archive:
      if not member.isfile():
        continue
      class_name = posixpath.basename(posixpath.dirname(member.name))
      stem = posixpath.splitext(posixpath.basename(member.name))[0]
      if f"{class_name}/{stem}" not in wanted:
        continue
      yield Example(decode_image(archive.extractfile(member).read()), LABEL_OF[class_name])


def extract(paths: Mapping[str, Path]) -> Extracted:
  lists = read_split_lists(paths[ARCHIVE])
  return Extracted(CLASS_NAMES, {split: _examples(paths[ARCHIVE], lists[split]) for split in lists})


HANDLER = Handler(
    name="food101",
    artefacts=(
        Artefact(ARCHIVE, url="http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
                 checksum="md5:85eeb15f3717b99a5da872d97d918f87"),
    ),
    extract=extract,
)
