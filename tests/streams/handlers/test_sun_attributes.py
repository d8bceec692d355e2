import io
import tarfile

import numpy as np
from scipy.io import savemat

from .h3_fixtures import add_to_tar, counts, grey, manual_dir, means, prepare, SPLITS
from nevis.streams import splits


def _mat(**arrays):
  buffer = io.BytesIO()
  savemat(buffer, arrays)
  return buffer.getvalue()


def _cell(strings):
  cell = np.empty((len(strings), 1), dtype=object)
  for i, s in enumerate(strings):
    cell[i, 0] = np.array([s])
  return cell


def test_sun_attributes_any_vote_turns_an_attribute_on(tmp_path, monkeypatch):
  from nevis.streams.handlers import sun_attributes

  manual = manual_dir(tmp_path)
  files = ["a/abbey/sun_a.jpg", "b/beach/sun_b.jpg", "c/canal/sun_c.jpg"]
  votes = np.zeros((3, 102))
  votes[0, [0, 5]] = [0.33, 1.0]
  votes[1, 101] = 0.66
  with tarfile.open(manual / "SUNAttributeDB.tar.gz", "w:gz") as archive:
    add_to_tar(archive, "SUNAttributeDB/images.mat", _mat(images=_cell(files)))
    add_to_tar(archive, "SUNAttributeDB/attributeLabels_continuous.mat", _mat(labels_cv=votes))
    add_to_tar(archive, "SUNAttributeDB/attributes.mat",
               _mat(attributes=_cell([f"attr{i}" for i in range(102)])))
  with tarfile.open(manual / "SUNAttributeDB_Images.tar.gz", "w:gz") as archive:
    add_to_tar(archive, "images/c/canal/sun_c.jpg", grey(30, (10, 14), "JPEG"))
    add_to_tar(archive, "images/a/abbey/sun_a.jpg", grey(90, (10, 14), "JPEG"))
    add_to_tar(archive, "images/z/zoo/sun_unlisted.jpg", grey(5, (10, 14), "JPEG"))
    add_to_tar(archive, "images/b/beach/sun_b.jpg", grey(150, (10, 14), "JPEG"))
  store = prepare("sun_attributes", sun_attributes, tmp_path, monkeypatch)
  assert counts(store, "sun_attributes") == splits.plan_sizes(splits.recipe_all({"all": 3}))
  expected = {30: [], 90: [0, 5], 150: [101]}  # archive order c, a, b
  for split in SPLITS:
    data = store.read("sun_attributes", split)
    for value, row in zip(means(store, "sun_attributes", split), np.asarray(data.labels)):
      assert np.flatnonzero(row).tolist() == expected[int(round(value / 30) * 30)]
  assert store.manifest("sun_attributes")["class_names"][101] == "attr101"
