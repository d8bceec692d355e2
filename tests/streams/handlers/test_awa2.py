import numpy as np

from nevis.streams import splits
from nevis.streams.handlers.base import shrink_to_max_side

from .kit import flat, write_zip


def test_awa2_attributes_and_unseen_test_classes(manual, prepare):
  from nevis.streams.handlers import awa2

  root = "Animals_with_Attributes2"
  classes = ["antelope", "grizzly+bear", "killer+whale", "dalmatian"]
  # real predicates are lower-case words ("black", "flippers"...)
  predicates = [f"attr{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(85)]
  matrix = np.zeros((4, 85), int)
  matrix[0, [0, 5]] = 1
  matrix[1, [1]] = 1
  matrix[2, [2, 84]] = 1
  matrix[3, [3, 4, 6]] = 1
  members = {
      f"{root}/classes.txt": "".join(f"      {i + 1}\t{c}\n" for i, c in enumerate(classes)),
      f"{root}/predicates.txt": "".join(f"{i + 1}\t{p}\n" for i, p in enumerate(predicates)),
      f"{root}/trainclasses.txt": "antelope\ngrizzly+bear\nkiller+whale\n",
      f"{root}/testclasses.txt": "dalmatian\n",
      f"{root}/predicate-matrix-binary.txt": "".join(" ".join(str(v) for v in row) + "\n" for row in matrix),
      f"{root}/README-attributes.txt": "readme",
  }
  for c in classes:
    for k in range(3 if c != "dalmatian" else 2):
      members[f"{root}/JPEGImages/{c}/{c}_{10001 + k}.jpg"] = flat(120, "JPEG", (300, 600, 3))
  write_zip(manual / "AwA2-data.zip", members)
  extracted = awa2.extract({"AwA2-data.zip": manual / "AwA2-data.zip"})
  first = next(iter(extracted.splits["train"]))
  assert first.image.shape == (300, 600, 3)
  # NEVIS keeps AwA2 at longest side 256: the handler's image rule does it before the store's resize
  assert awa2.HANDLER.image_rule == "max_side:256"
  assert shrink_to_max_side(first.image, 256).shape == (128, 256, 3)
  ds = prepare("awa2")
  assert ds.class_names == predicates
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 9, "test": 2}))
  test_labels = ds.read("test").labels
  assert test_labels.shape == (2, 85)
  assert [np.flatnonzero(row).tolist() for row in test_labels] == [[3, 4, 6], [3, 4, 6]]
  seen = ds.labels("train", "dev", "dev_test")
  assert sorted(tuple(np.flatnonzero(row)) for row in seen) == [(0, 5)] * 3 + [(1,)] * 3 + [(2, 84)] * 3
