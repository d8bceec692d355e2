from nevis.streams import splits

from .kit import COLOUR, flat, level, write_zip


def test_german_tsr_test_labels_come_from_the_ground_truth_csv(manual, prepare):
  train = {}
  for label, count in ((0, 2), (12, 3), (42, 2)):
    train[f"GTSRB/Final_Training/Images/{label:05d}/GT-{label:05d}.csv"] = b"Filename;ClassId\n"
    for k in range(count):
      train[f"GTSRB/Final_Training/Images/{label:05d}/00000_{k:05d}.ppm"] = flat(level(label), "PPM", COLOUR)
  write_zip(manual / "GTSRB_Final_Training_Images.zip", train)
  test_labels = [12, 0, 42, 12]
  test = {"GTSRB/Final_Test/Images/GT-final_test.test.csv": b"Filename;Width\n"}
  for k, label in enumerate(test_labels):
    test[f"GTSRB/Final_Test/Images/{k:05d}.ppm"] = flat(level(label), "PPM", COLOUR)
  write_zip(manual / "GTSRB_Final_Test_Images.zip", test)
  rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
  rows += [f"{k:05d}.ppm;16;12;1;1;10;10;{label}" for k, label in enumerate(test_labels)]
  write_zip(manual / "GTSRB_Final_Test_GT.zip", {"GT-final_test.csv": ("\r\n".join(rows) + "\r\n").encode()})
  ds = prepare("german_tsr")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 7, "test": 4}))
  assert ds.labels("test") == test_labels
  assert ds.class_names[42] == "00042"
  ds.assert_levels_follow_labels()
