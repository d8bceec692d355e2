from nevis.streams import splits

from .kit import COLOUR, flat, write_tar

SETS = "VOCdevkit/VOC2006/ImageSets/"


def test_pascal_voc2006_last_positive_class_wins(manual, prepare):
  train = {
      # class files in archive order: cat, bus, car (not alphabetical)
      SETS + "cat_trainval.txt": b"000001  1\n000002 -1\n000003  1\n000004  0\n",
      SETS + "cat_train.txt": b"000001  1\n",
      SETS + "trainval.txt": b"000001\n000002\n000003\n000004\n",
      SETS + "bus_trainval.txt": b"000001 -1\n000002  1\n000003 -1\n000004 -1\n",
      SETS + "car_trainval.txt": b"000001 -1\n000002 -1\n000003  1\n000004 -1\n",
  }
  for k in range(1, 5):  # 000004 is positive for nothing (only 'difficult') and is dropped
    train[f"VOCdevkit/VOC2006/PNGImages/{k:06d}.png"] = flat(20 * k, "PNG", COLOUR)
  test = {
      SETS + "bus_test.txt": b"000010  1\n000011 -1\n",
      SETS + "car_test.txt": b"000010 -1\n000011  1\n",
      SETS + "cat_test.txt": b"000010 -1\n000011 -1\n",
      "VOCdevkit/VOC2006/PNGImages/000010.png": flat(100, "PNG", COLOUR),
      "VOCdevkit/VOC2006/PNGImages/000011.png": flat(120, "PNG", COLOUR),
  }
  write_tar(manual / "voc2006_trainval.tar", train)
  write_tar(manual / "voc2006_test.tar", test)
  ds = prepare("pascal_voc2006")
  assert ds.class_names == ["cat", "bus", "car"]
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 3, "test": 2}))
  # 000003 is cat and car: car (listed last) wins
  assert ds.pairs("train", "dev", "dev_test") == [(20, 0), (40, 1), (60, 2)]
  assert ds.pairs("test") == [(100, 1), (120, 2)]
