from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_tar
from nevis.streams import splits


def test_pascal_voc2005_collections_per_class(manual, store_root, monkeypatch):
  from nevis.streams.handlers import pascal_voc2005 as handler

  train_values = {
      "Caltech_cars": 10, "ETHZ_sideviews-cars": 20, "TUGraz_cars": 30, "TUGraz_bike": 40,
      "Caltech_motorbikes_side": 50, "TUGraz_person": 60,
  }
  train = {f"VOC2005_1/PNGImages/{folder}/im{n}.png": encoded(colour(value), "PNG")
           for folder, value in train_values.items() for n in range(2)}
  train["VOC2005_1/Annotations/TUGraz_cars/im0.txt"] = b"boxes"
  test_values = {folder: 100 + 5 * k for k, folders in enumerate(handler.TEST_COLLECTIONS.values())
                 for folder in folders}
  test = {f"VOC2005_2/PNGImages/{folder}/x.png": encoded(colour(value), "PNG")
          for folder, value in test_values.items()}
  write_tar(manual / "voc2005_1.tar.gz", train)
  write_tar(manual / "voc2005_2.tar.gz", test)
  without_checksums(monkeypatch, handler)
  store = prepare("pascal_voc2005", store_root, manual)
  assert counts(store, "pascal_voc2005") == splits.plan_sizes(splits.recipe_train({"train": 12, "test": 12}))
  # car 0, motorbike 1, bike 2, person 3
  assert value_label_pairs(store, "pascal_voc2005", ["train", "dev", "dev_test"]) == (
      [(10, 0)] * 2 + [(20, 0)] * 2 + [(30, 0)] * 2 + [(40, 2)] * 2 + [(50, 1)] * 2 + [(60, 3)] * 2)
  assert value_label_pairs(store, "pascal_voc2005", ["test"]) == (
      [(100, 0)] * 2 + [(105, 2)] * 3 + [(110, 1)] * 3 + [(115, 3)] * 4)
