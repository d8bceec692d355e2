"""PASCAL VOC 2012 actions: every annotated person box cropped, multi-label over 11 actions; recipe A.

VOCtrainval_11-May-2012.tar (pjreddie.com mirror) holds VOCdevkit/VOC2012/ImageSets/Action/<action>_trainval
.txt (lines "<image id> <object> <flag>"), Annotations/<image id>.xml and JPEGImages/<image id>.jpg. The
images are those listed in any of the ten action lists ("other" has none); each <object> of their XML is
cropped to its bndbox and labelled with the actions flagged 1 (dm_nevis handlers/voc_actions.py).
dm_nevis walks the image ids as a Python set (an order that changes between runs); here they are sorted,
so the seeded split is reproducible. dm_nevis also lists VOC2012test.tar, which it never reads: omitted.
"""
from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, crop_box, decode_image
from nevis.streams.nevis22_catalogue import CATALOGUE

ARCHIVE = "VOCtrainval_11-May-2012.tar"
ACTIONS = CATALOGUE["voc_actions"].class_names
_ROOT = "VOCdevkit/VOC2012"


def _read(archive: tarfile.TarFile, members: dict, name: str) -> bytes | None:
  member = members.get(name)
  return archive.extractfile(member).read() if member is not None else None


def action_image_ids(archive: tarfile.TarFile, members: dict) -> list[str]:
  ids = set()
  for action in ACTIONS:
    data = _read(archive, members, f"{_ROOT}/ImageSets/Action/{action}_trainval.txt")
    if data is not None:
      ids.update(line.split()[0] for line in data.decode().splitlines() if line.strip())
  return sorted(ids)


def person_boxes(xml: bytes) -> list[tuple[tuple[int, int, int, int], list[int]]]:
  """(box, action ids) of each annotated object that carries <actions>."""
  boxes = []
  for element in ElementTree.fromstring(xml).iter("object"):
    actions = element.find("actions")
    box = element.find("bndbox")
    if actions is None or box is None:
      continue
    coords = tuple(int(float(box.find(k).text)) for k in ("xmin", "ymin", "xmax", "ymax"))
    active = [i for i, action in enumerate(ACTIONS)
              if actions.find(action) is not None and int(float(actions.find(action).text)) == 1]
    boxes.append((coords, active))
  return boxes


def extract(paths: Mapping[str, Path]) -> Extracted:
  def examples():
    with tarfile.open(paths[ARCHIVE]) as archive:
      members = {m.name: m for m in archive.getmembers() if m.isfile()}
      for image_id in action_image_ids(archive, members):
        xml = _read(archive, members, f"{_ROOT}/Annotations/{image_id}.xml")
        if xml is None:
          continue
        image = decode_image(_read(archive, members, f"{_ROOT}/JPEGImages/{image_id}.jpg"))
        for box, actions in person_boxes(xml):
          yield Example(crop_box(image, box), actions)

  return Extracted(ACTIONS, {"all": examples()})


HANDLER = Handler(
    name="voc_actions",
    artefacts=(
        Artefact(ARCHIVE, url="http://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
                 checksum="md5:6cd6e144f989b92b3379bac3b3de84fd"),
    ),
    extract=extract,
)
