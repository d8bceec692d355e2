from .h1_archives import counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_tar
from nevis.streams import splits


def test_uiuc_cars_pos_in_path_is_car(manual, store_root, monkeypatch):
  from nevis.streams.handlers import uiuc_cars as handler

  members = {
      "CarData/README.txt": b"text",
      "CarData/trueLocations.txt": b"1: (48,26)",
      "CarData/TrainImages/pos-0.pgm": encoded(grey(200), "PPM"),
      "CarData/TrainImages/pos-1.pgm": encoded(grey(200), "PPM"),
      "CarData/TrainImages/neg-0.pgm": encoded(grey(50), "PPM"),
      "CarData/TestImages/test-0.pgm": encoded(grey(120), "PPM"),  # NEVIS labels it no_car
      "CarData/TestImages_Scale/test-0.pgm": encoded(grey(9), "PPM"),
  }
  write_tar(manual / "uiuc.tar.gz", members)
  without_checksums(monkeypatch, handler)
  store = prepare("uiuc_cars", store_root, manual)
  assert counts(store, "uiuc_cars") == splits.plan_sizes(splits.recipe_all({"all": 4}))
  assert value_label_pairs(store, "uiuc_cars") == [(50, 0), (120, 0), (200, 1), (200, 1)]
