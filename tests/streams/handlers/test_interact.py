import numpy as np

from .kit import flat, write_zip


def test_interact_per_class_split_and_illustrations_in_train(manual, prepare):
  # class 1: ten real images (grey 10..100), class 2: five (grey 150..190), classes 3-60: one each,
  # of which only class 3's image is in the zip; a truncated file is listed but must be skipped.
  lines = [f"1;a{k}.jpg;hug" for k in range(10)] + [f"2;b{k}.jpg;kick" for k in range(5)]
  lines += [f"{c};c{c}.jpg;class{c}" for c in range(3, 61)]
  lines.insert(3, "1;22TCSTMOFXRDFDVIK9PDTXJK5OZTQ6_20.jpg;hug")
  images = {f"imgs/a{k}.jpg": flat(10 * (k + 1)) for k in range(10)}
  images.update({f"imgs/b{k}.jpg": flat(150 + 10 * k) for k in range(5)})
  images["imgs/c3.jpg"] = flat(240)
  images["imgs/22TCSTMOFXRDFDVIK9PDTXJK5OZTQ6_20.jpg"] = flat(1)
  write_zip(manual / "interact_stand-alone_dataset_images.zip", images)
  write_zip(manual / "interact_stand-alone_dataset_annotations.zip",
            {"interact_final_dataset_labels_and_images.txt": "\n".join(lines) + "\n"})
  write_zip(manual / "interact_illustration_category_dataset_images.zip",
            {"imgs/ill_0.png": flat(200), "imgs/ill_1.png": flat(210)})
  write_zip(manual / "interact_illustration_category_dataset_annotations.zip",
            {"interact_illustration_category_dataset_labels_and_images.txt":
                 "2;ill_0.png;kick\n60;ill_1.png;class60\n"})
  ds = prepare("interact")
  # class 1 (10): 5 train, 1 dev, 1 dev_test, 3 test; class 2 (5): 2 train, 3 test; class 3: test;
  # plus both illustrations in train
  assert ds.counts() == {"train": 9, "dev": 1, "dev_test": 1, "test": 7}
  rng = np.random.default_rng(1)
  first = rng.permutation(10)
  assert sorted(ds.means("dev").round().tolist()) == [10.0 * (first[5] + 1)]
  second = rng.permutation(5)
  expected_test = sorted([10.0 * (i + 1) for i in first[7:]] + [150.0 + 10 * i for i in second[2:]] + [240.0])
  assert sorted(ds.means("test").round().tolist()) == expected_test
  assert sorted(ds.labels("train")) == [0] * 5 + [1] * 3 + [59]
  names = ds.class_names
  assert names[:3] == ["hug", "kick", "class3"] and len(names) == 60
