from nevis.streams import splits

from .kit import flat, write_zip


def test_pneumonia_official_folders(manual, prepare):
  root = "chest_xray/chest_xray"
  jpeg = lambda value: flat(value, "JPEG", (20, 24))
  members = {}
  for k in range(6):
    members[f"{root}/train/NORMAL/IM-{k:04d}-0001.jpeg"] = jpeg(40)
    members[f"{root}/train/PNEUMONIA/person{k}_bacteria_{k}.jpeg"] = jpeg(80)
  members[f"{root}/train/.DS_Store"] = b"junk"
  members[f"{root}/val/PNEUMONIA/person9_virus_1.jpeg"] = jpeg(80)
  members[f"{root}/val/NORMAL/NORMAL2-IM-1427-0001.jpeg"] = jpeg(40)
  members[f"{root}/test/NORMAL/IM-0001-0001.jpeg"] = jpeg(40)
  members["chest_xray/__MACOSX/chest_xray/train/NORMAL/._IM-0000-0001.jpeg"] = b"junk"
  members["chest_xray/train/NORMAL/IM-0000-0001.jpeg"] = jpeg(40)  # outside chest_xray/chest_xray
  write_zip(manual / "chest-xray-pneumonia.zip", members)
  ds = prepare("pneumonia_chest_xray", checksums=True)  # Kaggle archives carry no checksum
  assert ds.counts() == splits.plan_sizes(splits.recipe_train_and_dev({"train": 12, "validation": 2, "test": 1}))
  assert ds.labels("dev_test") == [0, 1]  # sorted: NORMAL first
  assert ds.labels("test") == [0]
  assert sorted(ds.labels("train", "dev")) == [0] * 6 + [1] * 6
