import numpy as np
import scipy.io

from nevis.streams import splits

from .kit import COLOUR, flat, level, write_tar


def test_oxford_flowers_17_uses_split_1_and_image_blocks(manual, prepare):
  numbers = [1, 2, 3, 4, 81, 82, 161, 162, 163, 1360]  # classes 0,0,0,0,1,1,2,2,2,16
  members = {"jpg/files.txt": b"image_0001.jpg\n"}
  for n in numbers:
    members[f"jpg/image_{n:04d}.jpg"] = flat(level((n - 1) // 80), "JPEG", COLOUR)
  write_tar(manual / "17flowers.tgz", members, folders=True)
  # split 1: 6 train, 2 validation, 1 test; image 4 is in none; split 2 must be ignored
  scipy.io.savemat(manual / "datasplits.mat", {
      "trn1": np.array([[1, 2, 81, 161, 162, 1360]]), "val1": np.array([[3, 82]]), "tst1": np.array([[163]]),
      "trn2": np.array([[4]]), "val2": np.array([[1]]), "tst2": np.array([[2]]),
  })
  ds = prepare("oxford_flowers_17")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train_and_dev({"train": 6, "validation": 2, "test": 1}))
  assert ds.labels("dev_test") == [0, 1]
  assert ds.labels("test") == [2]
  assert sorted(ds.labels("train", "dev")) == [0, 0, 1, 2, 2, 16]
  assert len(ds.class_names) == 17
  ds.assert_levels_follow_labels()
