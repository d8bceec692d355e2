from nevis.streams import splits

from .kit import COLOUR, flat, level, write_zip


def _signs(folder, classes):
  members = {}
  for label, count in classes.items():
    members[f"{folder}/{label:05d}/GT-{label:05d}.csv"] = b"Filename;Width;Height;ClassId\n"
    for k in range(count):
      members[f"{folder}/{label:05d}/01957_{k:05d}.ppm"] = flat(level(label), "PPM", COLOUR)
  return members


def test_belgium_tsc_labels_from_folders_and_names_from_reduced_set(manual, prepare):
  write_zip(manual / "BelgiumTSC_Training.zip", _signs("Training", {0: 3, 7: 2, 61: 3}))
  write_zip(manual / "BelgiumTSC_Testing.zip", _signs("Testing", {7: 1, 61: 2}))
  names = [f"sign{k}" for k in range(62)]
  names[5] = names[6] = "dup"
  (manual / "reducedSetTS.txt").write_text("header\n" + "\n".join(names) + "\n")
  ds = prepare("belgium_tsc")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 8, "test": 3}))
  assert ds.labels("test") == [7, 61, 61]
  class_names = ds.class_names
  assert class_names[0] == "sign0" and class_names[61] == "sign61" and len(class_names) == 62
  assert class_names[5] != class_names[6]  # repeated names kept apart by their class number
  ds.assert_levels_follow_labels()
