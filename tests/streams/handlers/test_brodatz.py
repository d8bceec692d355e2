import numpy as np

from .kit import encode


def test_brodatz_grid_crops_and_per_texture_split(manual, prepare):
  from nevis.streams.handlers import brodatz as handler

  # D1 and D3 are 100x100 (cells of 33: a full 3x3 grid); D112 is 99x99, whose last row and column of
  # cells would touch the border, so only 2x2 cells are kept.
  sizes = {"D1": 100, "D3": 100, "D112": 99}
  for name, side in sizes.items():
    # the grey value encodes the grid cell: 10 * (3 * column + row) + 10
    image = np.zeros((side, side), np.uint8)
    for column in range(3):
      for row in range(3):
        image[row * 33:(row + 1) * 33, column * 33:(column + 1) * 33] = 10 * (3 * column + row) + 10
    (manual / f"{name}.gif").write_bytes(encode(image, "GIF"))
  assert handler.grid_boxes(100, 100)[:2] == [(0, 0, 33, 33), (0, 33, 33, 66)]
  assert len(handler.grid_boxes(99, 99)) == 4
  ds = prepare("brodatz", keep={f"{n}.gif" for n in sizes})
  # D1 and D3: 5 train, 1 dev, 1 dev_test, 2 test each. D112 keeps 4 cells, k = 0..3; the third
  # permutation of default_rng(0), [8 0 5 4 2 | 7 | 6 | 1 3], puts them in train, test, train, test.
  assert ds.counts() == {"train": 12, "dev": 2, "dev_test": 2, "test": 6}
  names = ds.class_names
  assert len(names) == 111 and names[:3] == ["D1", "D2", "D3"] and names[-1] == "D112"
  # D1's permutation [4 5 2 6 3 | 8 | 7 | 0 1]: cell 8 (value 90) is dev, cells 0 and 1 (10, 20) test
  assert [p for p in ds.pairs("dev") if p[1] == 0] == [(90, 0)]
  assert [p for p in ds.pairs("test") if p[1] == 0] == [(10, 0), (20, 0)]
  assert [p for p in ds.pairs("train") if p[1] == 110] == [(10, 110), (40, 110)]
  assert [p for p in ds.pairs("test") if p[1] == 110] == [(20, 110), (50, 110)]
