from nevis.streams import splits

from .kit import flat, write_tar


def test_uiuc_cars_pos_in_path_is_car(manual, prepare):
  members = {
      "CarData/README.txt": b"text",
      "CarData/trueLocations.txt": b"1: (48,26)",
      "CarData/TrainImages/pos-0.pgm": flat(200, "PPM"),
      "CarData/TrainImages/pos-1.pgm": flat(200, "PPM"),
      "CarData/TrainImages/neg-0.pgm": flat(50, "PPM"),
      "CarData/TestImages/test-0.pgm": flat(120, "PPM"),  # NEVIS labels it no_car
      "CarData/TestImages_Scale/test-0.pgm": flat(9, "PPM"),
  }
  write_tar(manual / "uiuc.tar.gz", members)
  ds = prepare("uiuc_cars")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 4}))
  assert ds.pairs() == [(50, 0), (120, 0), (200, 1), (200, 1)]
