import dataclasses
import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value, grey=False):
  from PIL import Image

  shape = (64, 64) if grey else (64, 64, 3)
  buffer = io.BytesIO()
  Image.fromarray(np.full(shape, value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_tiny_imagenet_train_and_val(tmp_path, monkeypatch):
  from nevis.streams.handlers import tiny_imagenet

  manual = tmp_path / "manual"
  manual.mkdir()
  wnids = ["n09999999", "n01443537", "n04067472"]  # sorted: n01443537, n04067472, n09999999
  root = "tiny-imagenet-200"
  with zipfile.ZipFile(manual / "tiny-imagenet-200.zip", "w") as archive:
    archive.writestr(f"{root}/wnids.txt", "\n".join(wnids) + "\n")
    archive.writestr(f"{root}/words.txt", "n01443537\tgoldfish\n")
    for i, wnid in enumerate(wnids):
      archive.writestr(f"{root}/train/{wnid}/{wnid}_boxes.txt", f"{wnid}_0.JPEG\t0\t0\t10\t10\n")
      for k in range(4):
        archive.writestr(f"{root}/train/{wnid}/images/{wnid}_{k}.JPEG", _jpeg(60 * i, grey=k == 0))
    annotations = [("val_0.JPEG", wnids[2]), ("val_1.JPEG", wnids[0]), ("val_2.JPEG", wnids[1])]
    archive.writestr(f"{root}/val/val_annotations.txt",
                     "".join(f"{name}\t{wnid}\t0\t0\t63\t63\n" for name, wnid in annotations))
    for name, _ in annotations:
      archive.writestr(f"{root}/val/images/{name}", _jpeg(200))
    archive.writestr(f"{root}/test/images/test_0.JPEG", _jpeg(100))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = tiny_imagenet.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(tiny_imagenet, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  NevisDataSource("tiny_imagenet", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("tiny_imagenet")
  assert manifest["class_names"] == sorted(wnids)
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train({"train": 12, "test": 3}))
  assert store.read("tiny_imagenet", "test").labels.tolist() == [1, 2, 0]  # val_0..2 in sorted order
  train_labels = np.concatenate([store.read("tiny_imagenet", s).labels for s in ("train", "dev", "dev_test")])
  assert sorted(train_labels.tolist()) == [0] * 4 + [1] * 4 + [2] * 4
