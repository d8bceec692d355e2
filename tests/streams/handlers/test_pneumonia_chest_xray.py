import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((20, 24), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_pneumonia_official_folders(tmp_path, monkeypatch):
  manual = tmp_path / "manual"
  manual.mkdir()
  root = "chest_xray/chest_xray"
  with zipfile.ZipFile(manual / "chest-xray-pneumonia.zip", "w") as archive:
    for k in range(6):
      archive.writestr(f"{root}/train/NORMAL/IM-{k:04d}-0001.jpeg", _jpeg(40))
      archive.writestr(f"{root}/train/PNEUMONIA/person{k}_bacteria_{k}.jpeg", _jpeg(80))
    archive.writestr(f"{root}/train/.DS_Store", b"junk")
    archive.writestr(f"{root}/val/PNEUMONIA/person9_virus_1.jpeg", _jpeg(80))
    archive.writestr(f"{root}/val/NORMAL/NORMAL2-IM-1427-0001.jpeg", _jpeg(40))
    archive.writestr(f"{root}/test/NORMAL/IM-0001-0001.jpeg", _jpeg(40))
    archive.writestr("chest_xray/__MACOSX/chest_xray/train/NORMAL/._IM-0000-0001.jpeg", b"junk")
    archive.writestr("chest_xray/train/NORMAL/IM-0000-0001.jpeg", _jpeg(40))  # outside chest_xray/chest_xray
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("pneumonia_chest_xray", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("pneumonia_chest_xray")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train_and_dev({"train": 12, "validation": 2, "test": 1}))
  assert store.read("pneumonia_chest_xray", "dev_test").labels.tolist() == [0, 1]  # sorted: NORMAL first
  assert store.read("pneumonia_chest_xray", "test").labels.tolist() == [0]
  seen = np.concatenate([store.read("pneumonia_chest_xray", s).labels for s in ("train", "dev")])
  assert sorted(seen.tolist()) == [0] * 6 + [1] * 6
