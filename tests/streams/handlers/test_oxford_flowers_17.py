import numpy as np
import scipy.io

from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_tar)
from nevis.streams import splits


def test_oxford_flowers_17_uses_split_1_and_image_blocks(tmp_path, monkeypatch):
  from nevis.streams.handlers import oxford_flowers_17

  manual = tmp_path / "manual"
  manual.mkdir()
  numbers = [1, 2, 3, 4, 81, 82, 161, 162, 163, 1360]  # classes 0,0,0,0,1,1,2,2,2,16
  members = {"jpg/files.txt": b"image_0001.jpg\n"}
  for n in numbers:
    members[f"jpg/image_{n:04d}.jpg"] = image_bytes(level((n - 1) // 80), "JPEG")
  write_tar(manual / "17flowers.tgz", members, "w:gz")
  # split 1: 6 train, 2 validation, 1 test; image 4 is in none; split 2 must be ignored
  scipy.io.savemat(manual / "datasplits.mat", {
      "trn1": np.array([[1, 2, 81, 161, 162, 1360]]), "val1": np.array([[3, 82]]), "tst1": np.array([[163]]),
      "trn2": np.array([[4]]), "val2": np.array([[1]]), "tst2": np.array([[2]]),
  })
  without_checksums(monkeypatch, oxford_flowers_17)
  store = prepare("oxford_flowers_17", tmp_path, manual)
  assert split_counts(store, "oxford_flowers_17") == splits.plan_sizes(
      splits.recipe_train_and_dev({"train": 6, "validation": 2, "test": 1}))
  assert store.read("oxford_flowers_17", "dev_test").labels.tolist() == [0, 1]
  assert store.read("oxford_flowers_17", "test").labels.tolist() == [2]
  train_and_dev = np.concatenate([store.read("oxford_flowers_17", s).labels for s in ("train", "dev")])
  assert sorted(train_and_dev.tolist()) == [0, 0, 1, 2, 2, 16]
  assert len(store.manifest("oxford_flowers_17")["class_names"]) == 17
  assert_levels_follow_labels(store, "oxford_flowers_17")
