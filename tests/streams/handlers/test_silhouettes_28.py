import numpy as np
from scipy.io import savemat

from nevis.streams import splits


def test_silhouettes_28_official_splits(manual, prepare):
  names = np.empty((1, 101), dtype=object)
  for i in range(101):
    names[0, i] = np.array([f"class{i}"])
  savemat(manual / "caltech101_silhouettes_28.mat", {"classnames": names})

  def rows(n, first_label):
    data = np.zeros((n, 784))
    data[:, :392] = 1.0  # top half white when reshaped row-major
    return data, (np.arange(n) % 3 + first_label).reshape(-1, 1).astype(float)

  train_x, train_y = rows(10, 1)
  val_x, val_y = rows(2, 50)
  test_x, test_y = rows(3, 99)
  savemat(manual / "caltech101_silhouettes_28_split1.mat", {
      "train_data": train_x, "train_labels": train_y, "val_data": val_x, "val_labels": val_y,
      "test_data": test_x, "test_labels": test_y})
  ds = prepare("silhouettes_28")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train_and_dev({"train": 10, "validation": 2, "test": 3}))
  assert ds.labels("dev_test") == [49, 50]
  assert ds.labels("test") == [98, 99, 100]
  assert ds.class_names[100] == "class100"
  image = np.asarray(ds.read("test").images[0], dtype=float)
  assert image[0].mean() > 250 and image[-1].mean() < 5
  assert abs(ds.means("test")[0] - 127.5) < 3
