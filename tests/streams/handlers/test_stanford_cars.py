import numpy as np
import pytest
import scipy.io

from nevis.streams import splits
from nevis.streams.download import ManualStepNeeded

from .kit import COLOUR, flat, level, write_tar


def _annotations(path, rows, class_names):
  fields = [("relative_im_path", object), ("bbox_x1", object), ("bbox_y1", object), ("bbox_x2", object),
            ("bbox_y2", object), ("class", object), ("test", object)]
  table = np.zeros((1, len(rows)), dtype=fields)
  for k, (name, label, is_test) in enumerate(rows):
    table[0, k] = (f"car_ims/{name}", 1, 1, 10, 10, label + 1, int(is_test))
  names = np.empty((1, len(class_names)), dtype=object)
  names[0, :] = class_names
  scipy.io.savemat(path, {"annotations": table, "class_names": names})


def test_stanford_cars_official_test_flag(manual, prepare, tmp_path):
  rows = [("000001.jpg", 0, False), ("000002.jpg", 0, True), ("000003.jpg", 2, False),
          ("000004.jpg", 1, False), ("000005.jpg", 2, True), ("000006.jpg", 1, False)]
  write_tar(manual / "car_ims.tgz", {f"car_ims/{name}": flat(level(label), "JPEG", COLOUR) for name, label, _ in rows},
            folders=True)
  names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Ram C/V"]
  _annotations(manual / "cars_annos.mat", rows, names)
  with pytest.raises(ManualStepNeeded, match="mirror"):
    prepare("stanford_cars", checksums=True, manual_dir=tmp_path / "empty")
  ds = prepare("stanford_cars")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 4, "test": 2}))
  assert ds.labels("test") == [0, 2]
  assert ds.class_names == names
  ds.assert_levels_follow_labels()
