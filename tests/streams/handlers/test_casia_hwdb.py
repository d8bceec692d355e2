import struct
import zipfile

import numpy as np

from .h3_fixtures import counts, labels, manual_dir, means, prepare
from nevis.streams import splits


def _gnt(records):
  out = b""
  for code, value, (height, width) in records:
    out += struct.pack("<I2sHH", width * height + 10, code, width, height) + bytes([value]) * (width * height)
  return out


def test_casia_hwdb_gnt_records(tmp_path, monkeypatch):
  from nevis.streams.handlers import casia_hwdb

  manual = manual_dir(tmp_path)
  a, b, c = "啊".encode("gb2312"), "阿".encode("gb2312"), b"\xff\xff"  # c does not decode
  with zipfile.ZipFile(manual / "Gnt1.1TrainPart1.zip", "w") as archive:
    archive.writestr("1002-c.gnt", _gnt([(b, 205, (6, 5))]))
    archive.writestr("1001-c.gnt", _gnt([(a, 255, (4, 7)), (b, 155, (5, 5)), (a, 105, (3, 3))]))
  with zipfile.ZipFile(manual / "Gnt1.1TrainPart2.zip", "w") as archive:
    archive.writestr("1100-c.gnt", _gnt([(a, 55, (8, 4))] * 8))
  with zipfile.ZipFile(manual / "Gnt1.1Test.zip", "w") as archive:
    archive.writestr("1241-c.gnt", _gnt([(c, 0, (4, 4)), (a, 200, (4, 4))]))
  store = prepare("casia_hwdb", casia_hwdb, tmp_path, monkeypatch)
  assert counts(store, "casia_hwdb") == splits.plan_sizes(splits.recipe_train({"train": 12, "test": 2}))
  assert store.manifest("casia_hwdb")["class_names"] == ["啊", "阿", "0xffff"]  # sorted GB2312 codes
  assert labels(store, "casia_hwdb", "test") == [2, 0]
  assert np.allclose(means(store, "casia_hwdb", "test"), [255, 55], atol=1)  # inverted: ink is bright
  every = sum((labels(store, "casia_hwdb", s) for s in ("train", "dev", "dev_test")), [])
  assert sorted(every) == [0] * 10 + [1] * 2
