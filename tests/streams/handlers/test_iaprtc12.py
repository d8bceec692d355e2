import io

import numpy as np
import scipy.io

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import COLOUR, flat, write_zip


def _mat(name, ids):
  buffer = io.BytesIO()
  scipy.io.savemat(buffer, {name: np.array(ids, dtype=np.float64).reshape(-1, 1)})
  return buffer.getvalue()


def test_iaprtc12_pools_region_words_of_training_and_validation_images(manual, prepare):
  bench = "saiaprtc12ok/benchmark"
  members = {
      f"{bench}/wlist.txt": b"1\tsky\n2\t\n3\ttree\n4\tman\n5\tdog\n",
      # image region word (1-based word ids); image 25 has regions of words 1, 3, 3
      f"{bench}/saiapr_tc-12/00/labels.txt": b"25 1 1\n25 2 3\n25 3 3\n30 1 5\n",
      f"{bench}/saiapr_tc-12/01/labels.txt": b"1040 1 2\n1041 1 4\n1041 2 1\n",
      "saiaprtc12ok/matlab/matlab/training.mat": _mat("training", [25, 1041]),
      "saiaprtc12ok/matlab/matlab/validation.mat": _mat("validation", [30]),
      "saiaprtc12ok/matlab/matlab/testing.mat": _mat("testing", [1040]),
  }
  for folder, image_id in (("00", 25), ("00", 30), ("01", 1040), ("01", 1041)):
    data = flat(image_id % 200, "JPEG", COLOUR)
    members[f"benchmark/saiapr_tc-12/{folder}/images/{image_id}.jpg"] = data
    members[f"{bench}/saiapr_tc-12/{folder}/images/{image_id}.jpg"] = data  # the duplicate copy: skipped
    members[f"benchmark/saiapr_tc-12/{folder}/segmentation_masks/{image_id}_1.mat"] = b"mask"
  write_zip(manual / "iapr-tc12.zip", members)
  ds = prepare("iaprtc12", checksums=True)  # Kaggle archives carry no checksum
  assert ds.class_names == ["sky", " ", "tree", "man", "dog"]
  assert ds.manifest["kind"] == "multi_label"
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 3}))
  rows = {}
  for split in SPLITS:
    for m, label in zip(ds.means(split), ds.labels(split)):
      rows[int(round(m))] = label
  assert rows == {25: [1, 0, 1, 0, 0], 30: [0, 0, 0, 0, 1], 41: [1, 0, 0, 1, 0]}  # 1041 % 200 = 41
