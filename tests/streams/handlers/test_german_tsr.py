from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_zip)
from nevis.streams import splits


def test_german_tsr_test_labels_come_from_the_ground_truth_csv(tmp_path, monkeypatch):
  from nevis.streams.handlers import german_tsr

  manual = tmp_path / "manual"
  manual.mkdir()
  train = {}
  for label, count in ((0, 2), (12, 3), (42, 2)):
    train[f"GTSRB/Final_Training/Images/{label:05d}/GT-{label:05d}.csv"] = b"Filename;ClassId\n"
    for k in range(count):
      train[f"GTSRB/Final_Training/Images/{label:05d}/00000_{k:05d}.ppm"] = image_bytes(level(label), "PPM")
  write_zip(manual / "GTSRB_Final_Training_Images.zip", train)
  test_labels = [12, 0, 42, 12]
  test = {"GTSRB/Final_Test/Images/GT-final_test.test.csv": b"Filename;Width\n"}
  for k, label in enumerate(test_labels):
    test[f"GTSRB/Final_Test/Images/{k:05d}.ppm"] = image_bytes(level(label), "PPM")
  write_zip(manual / "GTSRB_Final_Test_Images.zip", test)
  rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
  rows += [f"{k:05d}.ppm;16;12;1;1;10;10;{label}" for k, label in enumerate(test_labels)]
  write_zip(manual / "GTSRB_Final_Test_GT.zip", {"GT-final_test.csv": ("\r\n".join(rows) + "\r\n").encode()})
  without_checksums(monkeypatch, german_tsr)
  store = prepare("german_tsr", tmp_path, manual)
  assert split_counts(store, "german_tsr") == splits.plan_sizes(splits.recipe_train({"train": 7, "test": 4}))
  assert store.read("german_tsr", "test").labels.tolist() == test_labels
  assert store.manifest("german_tsr")["class_names"][42] == "00042"
  assert_levels_follow_labels(store, "german_tsr")
