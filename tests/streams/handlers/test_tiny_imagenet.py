from nevis.streams import splits

from .kit import flat, write_zip


def test_tiny_imagenet_train_and_val(manual, prepare):
  wnids = ["n09999999", "n01443537", "n04067472"]  # sorted: n01443537, n04067472, n09999999
  root = "tiny-imagenet-200"
  jpeg = lambda value, grey=False: flat(value, "JPEG", (64, 64) if grey else (64, 64, 3))
  members = {f"{root}/wnids.txt": "\n".join(wnids) + "\n", f"{root}/words.txt": "n01443537\tgoldfish\n"}
  for i, wnid in enumerate(wnids):
    members[f"{root}/train/{wnid}/{wnid}_boxes.txt"] = f"{wnid}_0.JPEG\t0\t0\t10\t10\n"
    for k in range(4):
      members[f"{root}/train/{wnid}/images/{wnid}_{k}.JPEG"] = jpeg(60 * i, grey=k == 0)
  annotations = [("val_0.JPEG", wnids[2]), ("val_1.JPEG", wnids[0]), ("val_2.JPEG", wnids[1])]
  members[f"{root}/val/val_annotations.txt"] = "".join(f"{name}\t{wnid}\t0\t0\t63\t63\n" for name, wnid in annotations)
  for name, _ in annotations:
    members[f"{root}/val/images/{name}"] = jpeg(200)
  members[f"{root}/test/images/test_0.JPEG"] = jpeg(100)
  write_zip(manual / "tiny-imagenet-200.zip", members)
  ds = prepare("tiny_imagenet")
  assert ds.class_names == sorted(wnids)
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 12, "test": 3}))
  assert ds.labels("test") == [1, 2, 0]  # val_0..2 in sorted order
  assert sorted(ds.labels("train", "dev", "dev_test")) == [0] * 4 + [1] * 4 + [2] * 4
