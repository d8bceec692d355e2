from nevis.streams import splits

from .kit import flat, level, write_tar


def test_caltech256_labels_are_folder_numbers(manual, prepare):
  from nevis.streams.handlers import caltech256

  members = {}
  for number in range(1, 258):  # one image per category; the names only matter at both ends
    name = {1: "ak47", 251: "airplanes-101", 257: "clutter"}.get(number, f"cat{number}")
    members[f"256_ObjectCategories/{number:03d}.{name}/{number:03d}_0001.jpg"] = flat(
        level(number - 1), "JPEG", (8, 8, 3))
  members["256_ObjectCategories/198.spider/RENAME2"] = b"not an image"
  members["256_ObjectCategories/003.cat3/003_0002.jpg"] = flat(level(2), "JPEG", (8, 8, 3))
  write_tar(manual / "256_ObjectCategories.tar", members, folders=True)
  ds = prepare("caltech256", image_size=4)
  names = ds.class_names
  assert (names[0], names[250], names[256], len(names)) == ("ak47", "airplanes-101", "clutter", 257)
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 258}))
  assert sorted(ds.labels()) == sorted(list(range(257)) + [2])
  assert "browser" in caltech256.HANDLER.instructions()
