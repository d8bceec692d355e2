import numpy as np

from nevis.streams import splits

from .kit import flat, write_tar


def test_food101_official_lists_and_nevis_class_order(manual, prepare):
  train = [f"apple_pie/{100 + k}" for k in range(6)] + [f"takoyaki/{200 + k}" for k in range(4)]
  test = ["takoyaki/300", "apple_pie/301"]
  members = {"food-101/meta/train.txt": ("\n".join(train) + "\n").encode(),
             "food-101/meta/test.txt": ("\n".join(test) + "\n").encode(),
             "food-101/meta/classes.txt": b"apple_pie\ntakoyaki\n"}
  for stem in train + test + ["apple_pie/999"]:  # 999 is in neither list
    members[f"food-101/images/{stem}.jpg"] = flat(200 if stem in test else 50, "JPEG", (24, 32, 3))
  write_tar(manual / "food-101.tar.gz", members)
  ds = prepare("food101")
  assert ds.class_names[0] == "takoyaki" and len(ds.class_names) == 101
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 10, "test": 2}))
  test_split = ds.read("test")
  assert test_split.labels.tolist() == [0, 74]  # archive order; apple_pie is 74 in NEVIS's list
  assert np.allclose(test_split.images.mean(), 200, atol=3)
  assert sorted(ds.labels("train", "dev", "dev_test")) == [0] * 4 + [74] * 6
