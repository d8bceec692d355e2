import numpy as np
import pytest

from .archive_fixtures import make_coil_zip, without_checksums
from nevis.store import Store
from nevis.streams import splits
from nevis.streams.download import DownloadError
from nevis.streams.prepare import NevisDataSource


def test_coil20_from_manual_dir(tmp_path, store_root):
  manual = tmp_path / "manual"
  manual.mkdir()
  # 3 of the 20 objects, all 72 views (the real archive: 20 x 72 grey 128x128 PNGs)
  make_coil_zip(
      manual / "coil-20-proc.zip", "coil-20-proc", objects=(1, 2, 20), views=range(72), colour=False
  )
  source = NevisDataSource("coil20", data_dir=str(store_root), image_size=8)
  # the fixture is not the real archive, so its md5 differs: the handler must refuse it...
  with pytest.raises(DownloadError, match="checksum"):
    source.prepare(manual_dir=str(manual))
  assert source.status() == "missing"


def test_coil20_extract_and_store(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import coil20

  manual = tmp_path / "manual"
  manual.mkdir()
  make_coil_zip(
      manual / "coil-20-proc.zip", "coil-20-proc", objects=(1, 2, 20), views=range(72), colour=False
  )
  without_checksums(monkeypatch, coil20)
  source = NevisDataSource("coil20", data_dir=str(store_root), image_size=8)
  source.prepare(manual_dir=str(manual))
  assert source.status() == "prepared"
  store = Store(store_root, image_size=8)
  manifest = store.manifest("coil20")
  counts = {s: manifest["splits"][s]["count"] for s in ("train", "dev", "dev_test", "test")}
  assert sum(counts.values()) == 3 * 72
  # recipe A over the 216 examples in sorted-name order
  expected = splits.plan_sizes(splits.recipe_all({"all": 216}))
  assert counts == expected
  assert manifest["class_names"][:2] == ["obj1", "obj2"] and len(manifest["class_names"]) == 20
  train = store.read("coil20", "train")
  assert train.images.shape[1:] == (8, 8, 3) and train.images.dtype == np.uint8
  assert set(np.unique(train.labels)) <= {0, 1, 19}
  # the grey value encodes the object: label 19 (obj20) images are 200, label 0 images are 10
  for label, value in ((0, 10), (19, 200)):
    assert np.all(train.images[train.labels == label] == value)


def test_coil100_view_angle_split(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import coil100

  manual = tmp_path / "manual"
  manual.mkdir()
  make_coil_zip(manual / "coil-100.zip", "coil-100", objects=(1, 7), views=range(0, 360, 5), colour=True)
  without_checksums(monkeypatch, coil100)
  source = NevisDataSource("coil100", data_dir=str(store_root), image_size=8)
  assert source.handler_name() == "coil100"  # TFDS-free path for a tfds:coil100 catalogue entry
  source.prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=8)
  counts = {s: store.manifest("coil100")["splits"][s]["count"] for s in ("train", "dev", "dev_test", "test")}
  assert counts == {"train": 10, "dev": 10, "dev_test": 10, "test": 2 * 57}
  assert sorted(np.unique(store.read("coil100", "dev").labels)) == [0, 6]

