from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def _signs(folder, classes):
  members = {}
  for label, count in classes.items():
    members[f"{folder}/{label:05d}/GT-{label:05d}.csv"] = b"Filename;Width;Height;ClassId\n"
    for k in range(count):
      members[f"{folder}/{label:05d}/01957_{k:05d}.ppm"] = image_bytes(level(label), "PPM")
  return members


def test_belgium_tsc_labels_from_folders_and_names_from_reduced_set(tmp_path, monkeypatch):
  from nevis.streams.handlers import belgium_tsc

  manual = tmp_path / "manual"
  manual.mkdir()
  write_zip(manual / "BelgiumTSC_Training.zip", _signs("Training", {0: 3, 7: 2, 61: 3}))
  write_zip(manual / "BelgiumTSC_Testing.zip", _signs("Testing", {7: 1, 61: 2}))
  names = [f"sign{k}" for k in range(62)]
  names[5] = names[6] = "dup"
  (manual / "reducedSetTS.txt").write_text("header\n" + "\n".join(names) + "\n")
  without_checksums(monkeypatch, belgium_tsc)
  store = prepare("belgium_tsc", tmp_path, manual)
  assert split_counts(store, "belgium_tsc") == splits.plan_sizes(splits.recipe_train({"train": 8, "test": 3}))
  assert store.read("belgium_tsc", "test").labels.tolist() == [7, 61, 61]
  class_names = store.manifest("belgium_tsc")["class_names"]
  assert class_names[0] == "sign0" and class_names[61] == "sign61" and len(class_names) == 62
  assert class_names[5] != class_names[6]  # repeated names kept apart by their class number
  assert_levels_follow_labels(store, "belgium_tsc")
