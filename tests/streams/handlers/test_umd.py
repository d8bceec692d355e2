from nevis.streams import splits

from .kit import flat, level, write_zip


def test_umd_labels_are_folder_numbers_minus_one(manual, prepare):
  grey = (20, 24)
  write_zip(manual / "textures-1.zip", {
      "textures-1/01/01_01.png": flat(level(0), "PNG", grey),
      "textures-1/01/01_02.png": flat(level(0), "PNG", grey),
      "textures-1/12/12_01.png": flat(level(11), "PNG", grey),
      "textures-1/Thumbs.db": b"junk",
  })
  write_zip(manual / "textures-2.zip", {
      "textures-2/25/25_01.png": flat(level(24), "PNG", grey),
      "textures-2/13/13_01.png": flat(level(12), "PNG", grey),
  })
  ds = prepare("umd")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 5}))
  assert sorted(ds.labels()) == [0, 0, 11, 12, 24]
  assert len(ds.class_names) == 25
  ds.assert_levels_follow_labels()
