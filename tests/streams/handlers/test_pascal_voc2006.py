from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_tar
from nevis.streams import splits

SETS = "VOCdevkit/VOC2006/ImageSets/"


def test_pascal_voc2006_last_positive_class_wins(manual, store_root, monkeypatch):
  from nevis.streams.handlers import pascal_voc2006 as handler

  train = {
      # class files in archive order: cat, bus, car (not alphabetical)
      SETS + "cat_trainval.txt": b"000001  1\n000002 -1\n000003  1\n000004  0\n",
      SETS + "cat_train.txt": b"000001  1\n",
      SETS + "trainval.txt": b"000001\n000002\n000003\n000004\n",
      SETS + "bus_trainval.txt": b"000001 -1\n000002  1\n000003 -1\n000004 -1\n",
      SETS + "car_trainval.txt": b"000001 -1\n000002 -1\n000003  1\n000004 -1\n",
  }
  for k in range(1, 5):  # 000004 is positive for nothing (only 'difficult') and is dropped
    train[f"VOCdevkit/VOC2006/PNGImages/{k:06d}.png"] = encoded(colour(20 * k), "PNG")
  test = {
      SETS + "bus_test.txt": b"000010  1\n000011 -1\n",
      SETS + "car_test.txt": b"000010 -1\n000011  1\n",
      SETS + "cat_test.txt": b"000010 -1\n000011 -1\n",
      "VOCdevkit/VOC2006/PNGImages/000010.png": encoded(colour(100), "PNG"),
      "VOCdevkit/VOC2006/PNGImages/000011.png": encoded(colour(120), "PNG"),
  }
  write_tar(manual / "voc2006_trainval.tar", train, mode="w")
  write_tar(manual / "voc2006_test.tar", test, mode="w")
  without_checksums(monkeypatch, handler)
  store = prepare("pascal_voc2006", store_root, manual)
  assert store.manifest("pascal_voc2006")["class_names"] == ["cat", "bus", "car"]
  assert counts(store, "pascal_voc2006") == splits.plan_sizes(splits.recipe_train({"train": 3, "test": 2}))
  # 000003 is cat and car: car (listed last) wins
  train_pairs = value_label_pairs(store, "pascal_voc2006", ["train", "dev", "dev_test"])
  assert train_pairs == [(20, 0), (40, 1), (60, 2)]
  assert value_label_pairs(store, "pascal_voc2006", ["test"]) == [(100, 1), (120, 2)]
