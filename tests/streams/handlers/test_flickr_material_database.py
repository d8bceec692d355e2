import numpy as np

from nevis.streams import splits

from .kit import COLOUR, flat, level, write_zip


def test_flickr_material_database_reads_image_folder_only(manual, prepare):
  from nevis.streams.handlers import flickr_material_database as fmd

  members = {}
  for material, count in (("fabric", 3), ("glass", 2), ("wood", 4)):
    label = fmd.CLASS_NAMES.index(material)
    for k in range(count):
      members[f"image/{material}/{material}_object_{k:03d}_new.jpg"] = flat(level(label), "JPEG", (24, 32, 3))
      members[f"mask/{material}/{material}_object_{k:03d}_new.jpg"] = flat(255, "JPEG", COLOUR)
  members["image/Thumbs.db"] = b"junk"
  members["image/readme.m"] = b"% matlab"
  write_zip(manual / "FMD.zip", members)
  ds = prepare("flickr_material_database")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert sorted(ds.labels()) == [0, 0, 0, 2, 2, 9, 9, 9, 9]
  assert ds.class_names[9] == "wood"
  ds.assert_levels_follow_labels()
  assert ds.read("train").images.dtype == np.uint8
