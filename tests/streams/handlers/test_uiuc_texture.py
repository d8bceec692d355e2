from .h2_fixtures import (all_labels, assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def test_uiuc_texture_classes_across_five_zips(tmp_path, monkeypatch):
  from nevis.streams.handlers import uiuc_texture

  manual = tmp_path / "manual"
  manual.mkdir()
  classes = {"T01-T05.zip": "T01_bark", "T06-T10.zip": "T06_wood", "T11-T15.zip": "T11_plaid",
             "T16-T20.zip": "T16_glass", "T21-T25.zip": "T25_corduroy"}
  for label, (archive, folder) in enumerate(classes.items()):
    members = {f"{folder}/": b""}
    for k in range(2 if label != 4 else 1):
      members[f"{folder}/{folder[:3]}_{k + 1:02d}.jpg"] = image_bytes(level(label), "JPEG", (70, 72))
    write_zip(manual / archive, members)
  without_checksums(monkeypatch, uiuc_texture)
  store = prepare("uiuc_texture", tmp_path, manual)
  assert store.manifest("uiuc_texture")["class_names"] == list(classes.values())
  assert split_counts(store, "uiuc_texture") == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert all_labels(store, "uiuc_texture") == [0, 0, 1, 1, 2, 2, 3, 3, 4]
  assert_levels_follow_labels(store, "uiuc_texture")
