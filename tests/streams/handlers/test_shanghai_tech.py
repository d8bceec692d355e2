import io
import zipfile

import numpy as np
import scipy.io

from nevis.store import Store
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _mat(count):
  """A ground-truth .mat as ShanghaiTech's: image_info is a 1x1 cell of a struct (location, number)."""
  struct = np.zeros((1, 1), dtype=[("location", "O"), ("number", "O")])
  struct[0, 0]["location"] = np.zeros((count, 2))
  struct[0, 0]["number"] = np.array([[count]])
  cell = np.empty((1, 1), dtype=object)
  cell[0, 0] = struct
  buffer = io.BytesIO()
  scipy.io.savemat(buffer, {"image_info": cell})
  return buffer.getvalue()


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_shanghai_tech_buckets_and_permuted_train(tmp_path, monkeypatch):
  from nevis.streams.handlers import shanghai_tech

  assert shanghai_tech.head_count(_mat(7)) == 7
  manual = tmp_path / "manual"
  manual.mkdir()
  # 20 images with counts 1..20: train = counts 1..14 (part A 1..10, part B 11..14), test = 15..20
  images = []
  for count in range(1, 21):
    part = "part_A" if count <= 10 or count > 17 else "part_B"
    split = "train" if count <= 14 else "test"
    images.append((f"ShanghaiTech/{part}/{split}_data", count))
  with zipfile.ZipFile(manual / "shanghaitech.zip", "w") as archive:
    for folder, count in images:
      archive.writestr(f"{folder}/ground-truth/GT_IMG_{count}.mat", _mat(count))
      archive.writestr(f"{folder}/images/IMG_{count}.jpg", _jpeg(10 * count))
    empty_copy = "shanghaitech_h5_empty/ShanghaiTech/part_A/train_data/ground-truth/GT_IMG_1.mat"
    archive.writestr(empty_copy, _mat(900))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("shanghai_tech", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("shanghai_tech")
  # 2 images a bucket: bucket edges 1, 3, 5, ..., 17, so count c has label min(c // 2, 9)
  assert manifest["class_names"][:3] == ["0-2", "3-4", "5-6"]
  # cuts int(0.7 * 14) = 9 and int(0.85 * 14) = 11
  counts = {s: manifest["splits"][s]["count"] for s in SPLITS}
  assert counts == {"train": 9, "dev": 2, "dev_test": 3, "test": 6}
  assert store.read("shanghai_tech", "test").labels.tolist() == [7, 8, 8, 9, 9, 9]  # counts 15..20
  # train images in permutation order: default_rng(1).permutation(14)
  order = np.random.default_rng(1).permutation(14)
  counts = order + 1  # the train files in archive order have counts 1..14
  assert store.read("shanghai_tech", "train").labels.tolist() == [min(c // 2, 9) for c in counts[:9]]
  assert store.read("shanghai_tech", "dev_test").labels.tolist() == [min(c // 2, 9) for c in counts[11:]]
  brightness = store.read("shanghai_tech", "dev").images.reshape(2, -1).mean(1)
  assert np.allclose(brightness, 10 * counts[9:11], atol=3)
