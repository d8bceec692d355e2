"""KTH-TIPS colour textures (Fritz, Hayman, Caputo & Eklundh 2004): 10 materials, 200x200; split recipe A.

The KTH-TIPS family shares one layout (dm_nevis handlers/kth_tips.py): a tar of <root>/<material>/<image>.png
(KTH-TIPS) or <root>/<material>/sample_<x>/<image>.png (KTH-TIPS2-a and -b). The material folder is the
class; class ids number the material names sorted. Images are read in archive order and get NEVIS's texture
crop. `kth_tips_handler` builds the handler of each member of the family.
"""
from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

_URL = "https://www.csc.kth.se/cvap/databases/kth-tips/"


def material_of_path(name: str) -> str | None:
  """The material of an image path, or None for a file that is not a PNG image."""
  if ".png" not in name:
    return None
  folder = posixpath.dirname(name)
  if "sample" in name:
    folder = posixpath.dirname(folder)
  return posixpath.basename(folder)


def read_materials(archive: Path) -> list[str]:
  with tarfile.open(archive, "r:*") as tar:
    names = {material_of_path(m.name) for m in tar if m.isfile()}
  return sorted(n for n in names if n is not None)


def make_extract(archive_name: str):
  def extract(paths: Mapping[str, Path]) -> Extracted:
    materials = read_materials(paths[archive_name])
    label_of = {name: i for i, name in enumerate(materials)}

    def examples():
      for name, data in tar_members(paths[archive_name]):
        material = material_of_path(name)
        if material is not None:
          yield Example(decode_image(data), label_of[material])

    return Extracted(materials, {"all": examples()})

  return extract


def kth_tips_handler(name: str, archive_name: str, md5: str) -> Handler:
  return Handler(
      name=name,
      artefacts=(Artefact(archive_name, url=_URL + archive_name, checksum=f"md5:{md5}"),),
      extract=make_extract(archive_name),
      image_rule="texture_crop",
  )


HANDLER = kth_tips_handler("kth_tips", "kth_tips_col_200x200.tar", "4f92fe540feb4f3c66938291e4516f6c")
