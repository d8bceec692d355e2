import struct

import numpy as np

from nevis.streams import splits

from .kit import write_zip


def _gnt(records):
  out = b""
  for code, value, (height, width) in records:
    out += struct.pack("<I2sHH", width * height + 10, code, width, height) + bytes([value]) * (width * height)
  return out


def test_casia_hwdb_gnt_records(manual, prepare):
  a, b, c = "啊".encode("gb2312"), "阿".encode("gb2312"), b"\xff\xff"  # c does not decode
  write_zip(manual / "Gnt1.1TrainPart1.zip", {
      "1002-c.gnt": _gnt([(b, 205, (6, 5))]),
      "1001-c.gnt": _gnt([(a, 255, (4, 7)), (b, 155, (5, 5)), (a, 105, (3, 3))]),
  })
  write_zip(manual / "Gnt1.1TrainPart2.zip", {"1100-c.gnt": _gnt([(a, 55, (8, 4))] * 8)})
  write_zip(manual / "Gnt1.1Test.zip", {"1241-c.gnt": _gnt([(c, 0, (4, 4)), (a, 200, (4, 4))])})
  ds = prepare("casia_hwdb")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 12, "test": 2}))
  assert ds.class_names == ["啊", "阿", "0xffff"]  # sorted GB2312 codes
  assert ds.labels("test") == [2, 0]
  assert np.allclose(ds.means("test"), [255, 55], atol=1)  # inverted: ink is bright
  assert sorted(ds.labels("train", "dev", "dev_test")) == [0] * 10 + [1] * 2
