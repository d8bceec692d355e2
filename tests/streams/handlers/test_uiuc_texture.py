from nevis.streams import splits

from .kit import flat, level, write_zip


def test_uiuc_texture_classes_across_five_zips(manual, prepare):
  classes = {"T01-T05.zip": "T01_bark", "T06-T10.zip": "T06_wood", "T11-T15.zip": "T11_plaid",
             "T16-T20.zip": "T16_glass", "T21-T25.zip": "T25_corduroy"}
  for label, (archive, folder) in enumerate(classes.items()):
    members = {f"{folder}/": b""}
    for k in range(2 if label != 4 else 1):
      members[f"{folder}/{folder[:3]}_{k + 1:02d}.jpg"] = flat(level(label), "JPEG", (70, 72))
    write_zip(manual / archive, members)
  ds = prepare("uiuc_texture")
  assert ds.class_names == list(classes.values())
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert sorted(ds.labels()) == [0, 0, 1, 1, 2, 2, 3, 3, 4]
  ds.assert_levels_follow_labels()
