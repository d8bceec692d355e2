import tarfile

import numpy as np

from .h3_fixtures import add_to_tar, counts, grey, labels, manual_dir, means, prepare
from nevis.streams import splits


def test_office_trains_and_caltech_tests(tmp_path, monkeypatch):
  from nevis.streams.handlers import office_caltech_10

  manual = manual_dir(tmp_path)
  with tarfile.open(manual / "domain_adaptation_images.tar.gz", "w:gz") as archive:
    for k in range(6):
      add_to_tar(archive, f"amazon/images/back_pack/frame_{k + 1:04d}.jpg", grey(20, fmt="JPEG"))
    add_to_tar(archive, "dslr/images/projector/frame_0001.jpg", grey(20, fmt="JPEG"))
    add_to_tar(archive, "webcam/images/mug/frame_0003.jpg", grey(20, fmt="JPEG"))
    add_to_tar(archive, "webcam/images/ruler/frame_0001.jpg", grey(20, fmt="JPEG"))  # not one of the 10
  with tarfile.open(manual / "256_ObjectCategories.tar", "w") as archive:
    for k in range(5):
      add_to_tar(archive, f"256_ObjectCategories/003.backpack/003_{k + 1:04d}.jpg", grey(200, fmt="JPEG"))
    add_to_tar(archive, "256_ObjectCategories/238.video-projector/238_0001.jpg", grey(200, fmt="JPEG"))
    add_to_tar(archive, "256_ObjectCategories/041.coffee-mug/041_0001.jpg", grey(200, fmt="JPEG"))
    add_to_tar(archive, "256_ObjectCategories/001.ak47/001_0001.jpg", grey(200, fmt="JPEG"))
  store = prepare("office_caltech_10", office_caltech_10, tmp_path, monkeypatch)
  office = splits.multinomial_assignment(8, {"train": 0.8, "dev": 0.2})
  caltech = splits.multinomial_assignment(7, {"dev-test": 0.5, "test": 0.5})
  assert counts(store, "office_caltech_10") == {
      "train": int((office == "train").sum()), "dev": int((office == "dev").sum()),
      "dev_test": int((caltech == "dev_test").sum()), "test": int((caltech == "test").sum())}
  office_labels = np.array([0] * 6 + [9, 8])
  caltech_labels = np.array([0] * 5 + [9, 8])
  assert labels(store, "office_caltech_10", "train") == office_labels[office == "train"].tolist()
  assert labels(store, "office_caltech_10", "test") == caltech_labels[caltech == "test"].tolist()
  assert np.all(means(store, "office_caltech_10", "dev_test") > 190)
  assert np.all(means(store, "office_caltech_10", "dev") < 30)
