import numpy as np

from nevis.streams.prepare import NevisDataSource

from .kit import coil_zip


def test_coil100_view_angle_split(manual, prepare):
  coil_zip(manual / "coil-100.zip", "coil-100", objects=(1, 7), views=range(0, 360, 5), colour=True)
  assert NevisDataSource("coil100").handler_name() == "coil100"  # TFDS-free path for a tfds:coil100 catalogue entry
  ds = prepare("coil100")
  assert ds.counts() == {"train": 10, "dev": 10, "dev_test": 10, "test": 2 * 57}
  assert sorted(np.unique(ds.read("dev").labels)) == [0, 6]
