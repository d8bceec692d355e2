import io
import tarfile
import zipfile

import numpy as np

from .archive_fixtures import without_checksums
from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(array):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_scenes15(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import scenes15

  manual = tmp_path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(manual / "scene_categories.zip", "w") as archive:
    for category in ("MITcoast", "bedroom", "livingroom"):
      for k in range(5):
        archive.writestr(f"{category}/image_{k:04d}.jpg", _jpeg(np.full((20, 24), 90, np.uint8)))
  without_checksums(monkeypatch, scenes15)
  NevisDataSource("scenes15", data_dir=str(store_root), image_size=8).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=8)
  manifest = store.manifest("scenes15")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_all({"all": 15}))
  labels = np.concatenate([store.read("scenes15", s).labels for s in SPLITS])
  assert sorted(set(labels.tolist())) == [4, 8, 14]  # MITcoast, bedroom, livingroom in NEVIS's order


def test_lfw_per_subject_split(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import lfw

  manual = tmp_path / "manual"
  manual.mkdir()
  # Ann has 6 images, Bob 2 (dropped: fewer than 5), Cid 5
  people = {"Ann_A": 6, "Bob_B": 2, "Cid_C": 5}
  with tarfile.open(manual / "lfw.tgz", "w:gz") as archive:
    for person, count in people.items():
      for k in range(count):
        data = _jpeg(np.full((16, 16, 3), 40 * k, np.uint8))
        info = tarfile.TarInfo(f"lfw/{person}/{person}_{k + 1:04d}.jpg")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
  assert [lfw.split_of_position(i, 6) for i in range(6)] == [
      "train", "train", "dev", "dev_test", "test", "test"]
  without_checksums(monkeypatch, lfw)
  NevisDataSource("lfw", data_dir=str(store_root), image_size=8).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=8)
  manifest = store.manifest("lfw")
  assert manifest["class_names"] == ["Ann_A", "Cid_C"]
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == {"train": 3, "dev": 2, "dev_test": 2,
                                                                  "test": 4}
  assert store.read("lfw", "test").labels.tolist() == [0, 0, 1, 1]
  assert store.read("lfw", "train").labels.tolist() == [0, 0, 1]
  # Ann's dev image is her third (grey 80)
  assert abs(float(store.read("lfw", "dev").images[0].mean()) - 80) < 3
