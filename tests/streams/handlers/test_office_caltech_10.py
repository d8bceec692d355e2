import numpy as np

from nevis.streams import splits

from .kit import flat, write_tar


def test_office_trains_and_caltech_tests(manual, prepare):
  office_images = {f"amazon/images/back_pack/frame_{k + 1:04d}.jpg": flat(20, "JPEG") for k in range(6)}
  office_images["dslr/images/projector/frame_0001.jpg"] = flat(20, "JPEG")
  office_images["webcam/images/mug/frame_0003.jpg"] = flat(20, "JPEG")
  office_images["webcam/images/ruler/frame_0001.jpg"] = flat(20, "JPEG")  # not one of the 10
  write_tar(manual / "domain_adaptation_images.tar.gz", office_images)
  caltech_images = {f"256_ObjectCategories/003.backpack/003_{k + 1:04d}.jpg": flat(200, "JPEG") for k in range(5)}
  caltech_images["256_ObjectCategories/238.video-projector/238_0001.jpg"] = flat(200, "JPEG")
  caltech_images["256_ObjectCategories/041.coffee-mug/041_0001.jpg"] = flat(200, "JPEG")
  caltech_images["256_ObjectCategories/001.ak47/001_0001.jpg"] = flat(200, "JPEG")
  write_tar(manual / "256_ObjectCategories.tar", caltech_images)
  ds = prepare("office_caltech_10")
  office = splits.multinomial_assignment(8, {"train": 0.8, "dev": 0.2})
  caltech = splits.multinomial_assignment(7, {"dev-test": 0.5, "test": 0.5})
  assert ds.counts() == {
      "train": int((office == "train").sum()), "dev": int((office == "dev").sum()),
      "dev_test": int((caltech == "dev_test").sum()), "test": int((caltech == "test").sum())}
  office_labels = np.array([0] * 6 + [9, 8])
  caltech_labels = np.array([0] * 5 + [9, 8])
  assert ds.labels("train") == office_labels[office == "train"].tolist()
  assert ds.labels("test") == caltech_labels[caltech == "test"].tolist()
  assert np.all(ds.means("dev_test") > 190)
  assert np.all(ds.means("dev") < 30)
