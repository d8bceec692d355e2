import numpy as np
import pytest
import scipy.io

from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_tar)
from nevis.streams import splits
from nevis.streams.download import ManualStepNeeded


def _annotations(path, rows, class_names):
  fields = [("relative_im_path", object), ("bbox_x1", object), ("bbox_y1", object), ("bbox_x2", object),
            ("bbox_y2", object), ("class", object), ("test", object)]
  table = np.zeros((1, len(rows)), dtype=fields)
  for k, (name, label, is_test) in enumerate(rows):
    table[0, k] = (f"car_ims/{name}", 1, 1, 10, 10, label + 1, int(is_test))
  names = np.empty((1, len(class_names)), dtype=object)
  names[0, :] = class_names
  scipy.io.savemat(path, {"annotations": table, "class_names": names})


def test_stanford_cars_official_test_flag(tmp_path, monkeypatch):
  from nevis.streams.handlers import stanford_cars

  manual = tmp_path / "manual"
  manual.mkdir()
  rows = [("000001.jpg", 0, False), ("000002.jpg", 0, True), ("000003.jpg", 2, False),
          ("000004.jpg", 1, False), ("000005.jpg", 2, True), ("000006.jpg", 1, False)]
  write_tar(manual / "car_ims.tgz", {f"car_ims/{name}": image_bytes(level(label), "JPEG")
                                      for name, label, _ in rows}, "w:gz")
  names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Ram C/V"]
  _annotations(manual / "cars_annos.mat", rows, names)
  with pytest.raises(ManualStepNeeded, match="mirror"):
    prepare("stanford_cars", tmp_path, tmp_path / "empty")
  without_checksums(monkeypatch, stanford_cars)
  store = prepare("stanford_cars", tmp_path, manual)
  assert split_counts(store, "stanford_cars") == splits.plan_sizes(
      splits.recipe_train({"train": 4, "test": 2}))
  assert store.read("stanford_cars", "test").labels.tolist() == [0, 2]
  assert store.manifest("stanford_cars")["class_names"] == names
  assert_levels_follow_labels(store, "stanford_cars")
