import io

import numpy as np
from scipy.io import savemat

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import flat, write_tar


def _mat(**arrays):
  buffer = io.BytesIO()
  savemat(buffer, arrays)
  return buffer.getvalue()


def _cell(strings):
  cell = np.empty((len(strings), 1), dtype=object)
  for i, s in enumerate(strings):
    cell[i, 0] = np.array([s])
  return cell


def test_sun_attributes_any_vote_turns_an_attribute_on(manual, prepare):
  files = ["a/abbey/sun_a.jpg", "b/beach/sun_b.jpg", "c/canal/sun_c.jpg"]
  votes = np.zeros((3, 102))
  votes[0, [0, 5]] = [0.33, 1.0]
  votes[1, 101] = 0.66
  write_tar(manual / "SUNAttributeDB.tar.gz", {
      "SUNAttributeDB/images.mat": _mat(images=_cell(files)),
      "SUNAttributeDB/attributeLabels_continuous.mat": _mat(labels_cv=votes),
      "SUNAttributeDB/attributes.mat": _mat(attributes=_cell([f"attr{i}" for i in range(102)])),
  })
  write_tar(manual / "SUNAttributeDB_Images.tar.gz", {
      "images/c/canal/sun_c.jpg": flat(30, "JPEG", (10, 14)),
      "images/a/abbey/sun_a.jpg": flat(90, "JPEG", (10, 14)),
      "images/z/zoo/sun_unlisted.jpg": flat(5, "JPEG", (10, 14)),
      "images/b/beach/sun_b.jpg": flat(150, "JPEG", (10, 14)),
  })
  ds = prepare("sun_attributes")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 3}))
  expected = {30: [], 90: [0, 5], 150: [101]}  # archive order c, a, b
  for split in SPLITS:
    for value, row in zip(ds.means(split), np.asarray(ds.read(split).labels)):
      assert np.flatnonzero(row).tolist() == expected[int(round(value / 30) * 30)]
  assert ds.class_names[101] == "attr101"
