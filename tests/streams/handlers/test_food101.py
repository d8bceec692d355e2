import dataclasses
import io
import tarfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((24, 32, 3), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def _add(archive, name, data):
  info = tarfile.TarInfo(name)
  info.size = len(data)
  archive.addfile(info, io.BytesIO(data))


def test_food101_official_lists_and_nevis_class_order(tmp_path, monkeypatch):
  from nevis.streams.handlers import food101

  manual = tmp_path / "manual"
  manual.mkdir()
  train = [f"apple_pie/{100 + k}" for k in range(6)] + [f"takoyaki/{200 + k}" for k in range(4)]
  test = ["takoyaki/300", "apple_pie/301"]
  with tarfile.open(manual / "food-101.tar.gz", "w:gz") as archive:
    _add(archive, "food-101/meta/train.txt", ("\n".join(train) + "\n").encode())
    _add(archive, "food-101/meta/test.txt", ("\n".join(test) + "\n").encode())
    _add(archive, "food-101/meta/classes.txt", b"apple_pie\ntakoyaki\n")
    for stem in train + test + ["apple_pie/999"]:  # 999 is in neither list
      _add(archive, f"food-101/images/{stem}.jpg", _jpeg(200 if stem in test else 50))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = food101.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(food101, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  NevisDataSource("food101", data_dir=str(tmp_path / "store"), image_size=8).prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("food101")
  assert manifest["class_names"][0] == "takoyaki" and len(manifest["class_names"]) == 101
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train({"train": 10, "test": 2}))
  test_split = store.read("food101", "test")
  assert test_split.labels.tolist() == [0, 74]  # archive order; apple_pie is 74 in NEVIS's list
  assert np.allclose(test_split.images.mean(), 200, atol=3)
  train_labels = np.concatenate([store.read("food101", s).labels for s in ("train", "dev", "dev_test")])
  assert sorted(train_labels.tolist()) == [0] * 4 + [74] * 6
