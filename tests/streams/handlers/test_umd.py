from .h2_fixtures import (all_labels, assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def test_umd_labels_are_folder_numbers_minus_one(tmp_path, monkeypatch):
  from nevis.streams.handlers import umd

  manual = tmp_path / "manual"
  manual.mkdir()
  grey = (20, 24)
  write_zip(manual / "textures-1.zip", {
      "textures-1/01/01_01.png": image_bytes(level(0), shape=grey),
      "textures-1/01/01_02.png": image_bytes(level(0), shape=grey),
      "textures-1/12/12_01.png": image_bytes(level(11), shape=grey),
      "textures-1/Thumbs.db": b"junk",
  })
  write_zip(manual / "textures-2.zip", {
      "textures-2/25/25_01.png": image_bytes(level(24), shape=grey),
      "textures-2/13/13_01.png": image_bytes(level(12), shape=grey),
  })
  without_checksums(monkeypatch, umd)
  store = prepare("umd", tmp_path, manual)
  assert split_counts(store, "umd") == splits.plan_sizes(splits.recipe_all({"all": 5}))
  assert all_labels(store, "umd") == [0, 0, 11, 12, 24]
  assert len(store.manifest("umd")["class_names"]) == 25
  assert_levels_follow_labels(store, "umd")
