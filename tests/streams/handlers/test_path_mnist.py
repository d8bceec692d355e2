import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import write_zip


def test_path_mnist_csv_pixels_and_labels(manual, prepare):
  rng = np.random.RandomState(3)
  tiles = rng.randint(0, 256, size=(10, 28, 28, 3)).astype(np.uint8)
  labels = [1, 2, 3, 4, 5, 6, 7, 8, 8, 1]
  header = ",".join([f"pixel{i:04d}" for i in range(28 * 28 * 3)] + ["label"])
  rows = [",".join(str(v) for v in tile.reshape(-1)) + f",{label}" for tile, label in zip(tiles, labels)]
  write_zip(manual / "colorectal-histology-mnist.zip", {"hmnist_28_28_RGB.csv": "\n".join([header] + rows) + "\n",
                                                        "hmnist_8_8_L.csv": "unused"})
  ds = prepare("path_mnist", image_size=28, checksums=True)  # Kaggle archives carry no checksum
  assert len(ds.class_names) == 8
  plan = splits.recipe_all({"all": 10})
  assert ds.counts() == splits.plan_sizes(plan)
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      data = ds.read(split)
      assert data.labels.tolist() == [labels[i] - 1 for i in indices]
      assert np.array_equal(data.images, tiles[indices])  # 28x28 stored as is: pixel order preserved
