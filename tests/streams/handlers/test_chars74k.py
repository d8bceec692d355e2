import io

import numpy as np
from scipy.io import savemat

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_tar


def _lists(names, test_numbers):
  buffer = io.BytesIO()
  record = {"ALLnames": np.array(names), "TSTind": np.array([[0, n] for n in test_numbers], dtype=float),
            "is_good": np.ones(len(names))}
  savemat(buffer, {"list": record})
  return buffer.getvalue()


def test_chars74k_test_images_last_and_duplicates_dropped(manual, prepare):
  write_tar(manual / "EnglishImg.tgz", {
      "English/Img/GoodImg/Bmp/Sample001/img001-00001.png": flat(10),
      "English/Img/GoodImg/Bmp/Sample001/img001-00002.png": flat(20),  # official test
      "English/Img/GoodImg/Msk/Sample001/img001-00001.png": flat(99),  # mask: not an image of the set
      "English/Img/BadImag/Bmp/Sample037/img037-00003.png": flat(30),
  })
  write_tar(manual / "EnglishHnd.tgz", {
      "English/Hnd/Img/Sample011/img011-001.png": flat(40),
      "English/Hnd/Img/Sample011/img011-002.png": flat(40),  # same pixels and label: dropped
      "English/Hnd/Trj/Sample011/img011-001.txt": b"0 0\n",
  })
  write_tar(manual / "EnglishFnt.tgz", {f"English/Fnt/Sample062/img062-{k:05d}.png": flat(50 + k) for k in range(1, 6)})
  write_tar(manual / "Lists.tgz", {
      "Lists/English/Img/lists.mat": _lists(
          ["GoodImg/Bmp/Sample001/img001-00001", "GoodImg/Bmp/Sample001/img001-00002"], [2]),
      "Lists/English/Fnt/lists.mat": _lists([f"Sample062/img062-{k:05d}" for k in range(1, 6)], [1, 5]),
  })
  ds = prepare("chars74k")
  # 4 Img (1 mask skipped) -> 3, Hnd 2 -> 1 unique, Fnt 5: 9 examples
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  order = [10, 30, 40, 52, 53, 54, 20, 51, 55]  # non-test Img, Hnd, Fnt, then test Img, Fnt
  plan = splits.recipe_all({"all": 9})
  for split in SPLITS:
    taken = [order[i] for _, idx in plan[split] for i in idx]
    assert np.allclose(ds.means(split), taken, atol=2)
  names = ds.class_names
  assert names[0] == "0" and names[10] == "A" and names[36] == "a" and len(names) == 62
