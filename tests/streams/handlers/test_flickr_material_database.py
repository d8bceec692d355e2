import numpy as np

from .h2_fixtures import (all_labels, assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def test_flickr_material_database_reads_image_folder_only(tmp_path, monkeypatch):
  from nevis.streams.handlers import flickr_material_database as fmd

  manual = tmp_path / "manual"
  manual.mkdir()
  members = {}
  for material, count in (("fabric", 3), ("glass", 2), ("wood", 4)):
    label = fmd.CLASS_NAMES.index(material)
    for k in range(count):
      members[f"image/{material}/{material}_object_{k:03d}_new.jpg"] = image_bytes(level(label), "JPEG",
                                                                                     (24, 32, 3))
      members[f"mask/{material}/{material}_object_{k:03d}_new.jpg"] = image_bytes(255, "JPEG")
  members["image/Thumbs.db"] = b"junk"
  members["image/readme.m"] = b"% matlab"
  write_zip(manual / "FMD.zip", members)
  without_checksums(monkeypatch, fmd)
  store = prepare("flickr_material_database", tmp_path, manual)
  assert split_counts(store, "flickr_material_database") == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert all_labels(store, "flickr_material_database") == [0, 0, 0, 2, 2, 9, 9, 9, 9]
  assert store.manifest("flickr_material_database")["class_names"][9] == "wood"
  assert_levels_follow_labels(store, "flickr_material_database")
  assert store.read("flickr_material_database", "train").images.dtype == np.uint8
