import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import encode, flat, write_tar


def test_mnist_m_labels_per_folder_and_duplicates_dropped(manual, prepare):
  colour = np.zeros((6, 6, 3), np.uint8)
  colour[..., 0] = 90
  write_tar(manual / "mnist_m.tar.gz", {
      "mnist_m/mnist_m_train_labels.txt": b"00000000.png 5\n00000001.png 7\n00000002.png 7\n",
      "mnist_m/mnist_m_test_labels.txt": b"00000000.png 2\n",
      "mnist_m/mnist_m_train/00000000.png": flat(50),
      "mnist_m/mnist_m_train/00000001.png": encode(colour),
      "mnist_m/mnist_m_train/00000002.png": encode(colour),  # duplicate: dropped
      "mnist_m/mnist_m_test/00000000.png": flat(200),
  })
  ds = prepare("mnist_m")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 3}))
  label_of_mean = {50: 5, 30: 7, 200: 2}  # the red image's mean over 3 channels is 30
  seen = []
  for split in SPLITS:
    for m, label in zip(ds.means(split), ds.labels(split)):
      seen.append(label)
      assert label_of_mean[int(round(m / 10) * 10)] == label
  assert sorted(seen) == [2, 5, 7]
