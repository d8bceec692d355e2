"""Landsat (Statlog satellite) from tiny files in their original text format."""
import numpy as np


def test_landsat(manual, prepare):
  def rows(n, label):
    # 9 pixels x 4 bands, pixel-major; band b of every pixel = 10 * (b + 1)
    return "".join(" ".join(["10", "20", "30", "99"] * 9 + [str(label)]) + "\n" for _ in range(n))

  (manual / "sat.trn").write_text(rows(12, 1) + rows(8, 7))
  (manual / "sat.tst").write_text(rows(5, 3))
  ds = prepare("landsat", image_size=4)
  counts = ds.counts()
  assert counts["test"] == 5 and sum(counts.values()) == 25
  test = ds.read("test")
  assert test.labels.tolist() == [2] * 5
  # the 4th band is dropped: pixels are (10, 20, 30) after upsampling a constant patch
  assert np.all(test.images[..., 0] == 10) and np.all(test.images[..., 2] == 30)
  assert sorted(set(ds.labels())) == [0, 2, 6]
  assert len(ds.class_names) == 7
