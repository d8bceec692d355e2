import tarfile

import numpy as np

from .h3_fixtures import add_to_tar, counts, grey, image_bytes, labels, manual_dir, means, prepare, SPLITS
from nevis.streams import splits


def test_mnist_m_labels_per_folder_and_duplicates_dropped(tmp_path, monkeypatch):
  from nevis.streams.handlers import mnist_m

  manual = manual_dir(tmp_path)
  colour = np.zeros((6, 6, 3), np.uint8)
  colour[..., 0] = 90
  with tarfile.open(manual / "mnist_m.tar.gz", "w:gz") as archive:
    add_to_tar(archive, "mnist_m/mnist_m_train_labels.txt",
               b"00000000.png 5\n00000001.png 7\n00000002.png 7\n")
    add_to_tar(archive, "mnist_m/mnist_m_test_labels.txt", b"00000000.png 2\n")
    add_to_tar(archive, "mnist_m/mnist_m_train/00000000.png", grey(50))
    add_to_tar(archive, "mnist_m/mnist_m_train/00000001.png", image_bytes(colour))
    add_to_tar(archive, "mnist_m/mnist_m_train/00000002.png", image_bytes(colour))  # duplicate: dropped
    add_to_tar(archive, "mnist_m/mnist_m_test/00000000.png", grey(200))
  store = prepare("mnist_m", mnist_m, tmp_path, monkeypatch)
  assert counts(store, "mnist_m") == splits.plan_sizes(splits.recipe_all({"all": 3}))
  label_of_mean = {50: 5, 30: 7, 200: 2}  # the red image's mean over 3 channels is 30
  seen = []
  for split in SPLITS:
    for m, label in zip(means(store, "mnist_m", split), labels(store, "mnist_m", split)):
      seen.append(label)
      assert label_of_mean[int(round(m / 10) * 10)] == label
  assert sorted(seen) == [2, 5, 7]
