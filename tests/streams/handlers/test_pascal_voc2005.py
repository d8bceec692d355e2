from nevis.streams import splits

from .kit import COLOUR, flat, write_tar


def test_pascal_voc2005_collections_per_class(manual, prepare):
  from nevis.streams.handlers import pascal_voc2005 as handler

  train_values = {
      "Caltech_cars": 10, "ETHZ_sideviews-cars": 20, "TUGraz_cars": 30, "TUGraz_bike": 40,
      "Caltech_motorbikes_side": 50, "TUGraz_person": 60,
  }
  train = {f"VOC2005_1/PNGImages/{folder}/im{n}.png": flat(value, "PNG", COLOUR)
           for folder, value in train_values.items() for n in range(2)}
  train["VOC2005_1/Annotations/TUGraz_cars/im0.txt"] = b"boxes"
  test_values = {folder: 100 + 5 * k for k, folders in enumerate(handler.TEST_COLLECTIONS.values())
                 for folder in folders}
  test = {f"VOC2005_2/PNGImages/{folder}/x.png": flat(value, "PNG", COLOUR) for folder, value in test_values.items()}
  write_tar(manual / "voc2005_1.tar.gz", train)
  write_tar(manual / "voc2005_2.tar.gz", test)
  ds = prepare("pascal_voc2005")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 12, "test": 12}))
  # car 0, motorbike 1, bike 2, person 3
  assert ds.pairs("train", "dev", "dev_test") == (
      [(10, 0)] * 2 + [(20, 0)] * 2 + [(30, 0)] * 2 + [(40, 2)] * 2 + [(50, 1)] * 2 + [(60, 3)] * 2)
  assert ds.pairs("test") == [(100, 0)] * 2 + [(105, 2)] * 3 + [(110, 1)] * 3 + [(115, 3)] * 4
