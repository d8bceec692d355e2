import io

import numpy as np
import scipy.io

from .kit import flat, write_zip


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


def test_shanghai_tech_buckets_and_permuted_train(manual, prepare):
  from nevis.streams.handlers import shanghai_tech

  assert shanghai_tech.head_count(_mat(7)) == 7
  # 20 images with counts 1..20: train = counts 1..14 (part A 1..10, part B 11..14), test = 15..20
  images = []
  for count in range(1, 21):
    part = "part_A" if count <= 10 or count > 17 else "part_B"
    split = "train" if count <= 14 else "test"
    images.append((f"ShanghaiTech/{part}/{split}_data", count))
  members = {}
  for folder, count in images:
    members[f"{folder}/ground-truth/GT_IMG_{count}.mat"] = _mat(count)
    members[f"{folder}/images/IMG_{count}.jpg"] = flat(10 * count, "JPEG", (16, 16, 3))
  members["shanghaitech_h5_empty/ShanghaiTech/part_A/train_data/ground-truth/GT_IMG_1.mat"] = _mat(900)
  write_zip(manual / "shanghaitech.zip", members)
  ds = prepare("shanghai_tech", checksums=True)  # Kaggle archives carry no checksum
  # 2 images a bucket: bucket edges 1, 3, 5, ..., 17, so count c has label min(c // 2, 9)
  assert ds.class_names[:3] == ["0-2", "3-4", "5-6"]
  # cuts int(0.7 * 14) = 9 and int(0.85 * 14) = 11
  assert ds.counts() == {"train": 9, "dev": 2, "dev_test": 3, "test": 6}
  assert ds.labels("test") == [7, 8, 8, 9, 9, 9]  # counts 15..20
  # train images in permutation order: default_rng(1).permutation(14)
  order = np.random.default_rng(1).permutation(14)
  counts = order + 1  # the train files in archive order have counts 1..14
  assert ds.labels("train") == [min(c // 2, 9) for c in counts[:9]]
  assert ds.labels("dev_test") == [min(c // 2, 9) for c in counts[11:]]
  assert np.allclose(ds.means("dev"), 10 * counts[9:11], atol=3)
