"""TU Berlin sketches (Eitz et al. 2012): 20,000 grey PNGs in 250 classes; split recipe A.

sketches_png.zip holds png/<class name>/<number>.png and png/filelist.txt. Label ids follow NEVIS's own
class order (dm_nevis handlers/sketch.py), not the alphabetical folder order.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

ARCHIVE = "sketches_png.zip"
CLASS_NAMES = (
    'snail', 'candle', 'crane (machine)', 'parking meter', 'bathtub', 'loudspeaker', 'bulldozer',
    'skateboard', 'ant', 'radio', 'tennis-racket', 'envelope', 'house', 'person walking', 'basket',
    'rainbow', 'paper clip', 'alarm clock', 'screwdriver', 'cactus', 'umbrella', 'carrot', 'fan',
    'kangaroo', 'bell', 't-shirt', 'hedgehog', 'santa claus', 'angel', 'trousers', 'eyeglasses',
    'pretzel', 'snake', 'elephant', 'frying-pan', 'bread', 'rollerblades', 'tomato', 'cake', 'couch',
    'pizza', 'crown', 'cannon', 'baseball bat', 'moon', 'potted plant', 'cup', 'syringe',
    'pipe (for smoking)', 'hand', 'telephone', 'pumpkin', 'race car', 'table', 'brain', 'snowboard',
    'flashlight', 'cloud', 'helmet', 'monkey', 'ice-cream-cone', 'wineglass', 'strawberry', 'speed-boat',
    'cigarette', 'pigeon', 'book', 'lion', 'rabbit', 'violin', 'grenade', 'skull', 'car (sedan)', 'bee',
    'head', 'spoon', 'ship', 'laptop', 'diamond', 'church', 'spider', 'wheelbarrow', 'flower with stem',
    'mosquito', 'apple', 'giraffe', 'submarine', 'tree', 'harp', 'face', 'boomerang', 'floor lamp',
    'fork', 'horse', 'scissors', 'cell phone', 'comb', 'beer-mug', 'helicopter', 'hot air balloon',
    'bear (animal)', 'lightbulb', 'trombone', 'computer monitor', 'computer-mouse', 'fire hydrant',
    'squirrel', 'camera', 'binoculars', 'sponge bob', 'streetlight', 'blimp', 'satellite', 'rooster',
    'key', 'windmill', 'duck', 'zebra', 'armchair', 'skyscraper', 'bookshelf', 'shark', 'tablelamp',
    'nose', 'truck', 'fish', 'chandelier', 'bottle opener', 'mailbox', 'donut', 'door', 'chair', 'castle',
    'ipod', 'power outlet', 'wrist-watch', 'wheel', 'dog', 'bus', 'foot', 'panda', 'megaphone',
    'microscope', 'bench', 'snowman', 'mug', 'sun', 'wine-bottle', 'suv', 'vase', 'door handle', 'arm',
    'ear', 'hot-dog', 'ladder', 'banana', 'toilet', 'pineapple', 'mushroom', 'dolphin', 'mouse (animal)',
    'owl', 'hat', 'palm tree', 'tv', 'calculator', 'bicycle', 'standing bird', 'bowl', 'ashtray',
    'trumpet', 'microphone', 'saxophone', 'leaf', 'tire', 'bed', 'shovel', 'socks', 'traffic light',
    'feather', 'crab', 'frog', 'walkie talkie', 'purse', 'hammer', 'parrot', 'rifle', 'sailboat',
    'scorpion', 'head-phones', 'backpack', 'toothbrush', 'guitar', 'human-skeleton', 'bridge', 'bush',
    'axe', 'sheep', 'mermaid', 'eye', 'pig', 'cabinet', 'sword', 'satellite dish', 'keyboard', 'stapler',
    'teacup', 'present', 'motorbike', 'airplane', 'canoe', 'pear', 'teddy-bear', 'knife', 'butterfly',
    'camel', 'flying saucer', 'pickup truck', 'van', 'swan', 'sea turtle', 'teapot', 'tractor',
    'hourglass', 'tooth', 'lobster', 'hamburger', 'grapes', 'mouth', 'parachute', 'dragon',
    'person sitting', 'pen', 'train', 'tent', 'tiger', 'revolver', 'suitcase', 'shoe', 'barn',
    'flying bird', 'octopus', 'seagull', 'space shuttle', 'cat', 'crocodile', 'piano', 'penguin', 'cow',
    'lighter',
)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    for name, data in zip_members(paths[ARCHIVE]):
      if not name.endswith(".png"):
        continue  # filelist.txt
      label = _ID[posixpath.basename(posixpath.dirname(name))]
      yield Example(decode_image(data), label)

  return Extracted(CLASS_NAMES, {"all": examples()})


HANDLER = Handler(
    name="sketch",
    artefacts=(
        Artefact(
            ARCHIVE,
            url="https://cybertron.cg.tu-berlin.de/eitz/projects/classifysketch/sketches_png.zip",
            checksum="md5:023123df86a928a5273e3ba11990d8fd",
        ),
    ),
    extract=extract,
)
