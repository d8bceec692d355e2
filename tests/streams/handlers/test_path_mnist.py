import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def test_path_mnist_csv_pixels_and_labels(tmp_path, monkeypatch):
  manual = tmp_path / "manual"
  manual.mkdir()
  rng = np.random.RandomState(3)
  tiles = rng.randint(0, 256, size=(10, 28, 28, 3)).astype(np.uint8)
  labels = [1, 2, 3, 4, 5, 6, 7, 8, 8, 1]
  header = ",".join([f"pixel{i:04d}" for i in range(28 * 28 * 3)] + ["label"])
  rows = [",".join(str(v) for v in tile.reshape(-1)) + f",{label}" for tile, label in zip(tiles, labels)]
  with zipfile.ZipFile(manual / "colorectal-histology-mnist.zip", "w") as archive:
    archive.writestr("hmnist_28_28_RGB.csv", "\n".join([header] + rows) + "\n")
    archive.writestr("hmnist_8_8_L.csv", "unused")
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  source = NevisDataSource("path_mnist", data_dir=str(tmp_path / "store"), image_size=28)
  source.prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=28)
  manifest = store.manifest("path_mnist")
  assert len(manifest["class_names"]) == 8
  plan = splits.recipe_all({"all": 10})
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(plan)
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      data = store.read("path_mnist", split)
      assert data.labels.tolist() == [labels[i] - 1 for i in indices]
      assert np.array_equal(data.images, tiles[indices])  # 28x28 stored as is: pixel order preserved
