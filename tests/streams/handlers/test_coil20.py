import numpy as np
import pytest

from nevis.streams import splits
from nevis.streams.download import DownloadError
from nevis.streams.prepare import NevisDataSource

from .kit import coil_zip


def test_coil20_from_manual_dir(manual, store_root, prepare):
  # 3 of the 20 objects, all 72 views (the real archive: 20 x 72 grey 128x128 PNGs)
  coil_zip(manual / "coil-20-proc.zip", "coil-20-proc", objects=(1, 2, 20), views=range(72), colour=False)
  # the fixture is not the real archive, so its md5 differs: the handler must refuse it...
  with pytest.raises(DownloadError, match="checksum"):
    prepare("coil20", checksums=True)
  assert NevisDataSource("coil20", data_dir=str(store_root), image_size=8).status() == "missing"


def test_coil20_extract_and_store(manual, prepare):
  coil_zip(manual / "coil-20-proc.zip", "coil-20-proc", objects=(1, 2, 20), views=range(72), colour=False)
  ds = prepare("coil20")
  counts = ds.counts()
  assert sum(counts.values()) == 3 * 72
  # recipe A over the 216 examples in sorted-name order
  expected = splits.plan_sizes(splits.recipe_all({"all": 216}))
  assert counts == expected
  assert ds.class_names[:2] == ["obj1", "obj2"] and len(ds.class_names) == 20
  train = ds.read("train")
  assert train.images.shape[1:] == (8, 8, 3) and train.images.dtype == np.uint8
  assert set(np.unique(train.labels)) <= {0, 1, 19}
  # the grey value encodes the object: label 19 (obj20) images are 200, label 0 images are 10
  for label, value in ((0, 10), (19, 200)):
    assert np.all(train.images[train.labels == label] == value)
