"""USPS from tiny files in their original format (bzip2'd libsvm lines)."""
import bz2

from nevis.streams import splits


def test_usps(manual, prepare):
  from nevis.streams.handlers import usps

  def line(label):
    values = [-1.0] * 255 + [1.0]
    return f"{label} " + " ".join(f"{i + 1}:{v}" for i, v in enumerate(values)) + " \n"

  with bz2.open(manual / "usps.bz2", "wt") as f:
    f.writelines(line(1 + i % 10) for i in range(20))
  with bz2.open(manual / "usps.t.bz2", "wt") as f:
    f.writelines(line(10) for _ in range(4))
  image, label = usps.parse_line(line(10))
  assert label == 9 and image[0, 0] == 0 and image[15, 15] == 255
  ds = prepare("usps", image_size=16)
  counts = ds.counts()
  assert counts["test"] == 4 and counts["train"] + counts["dev"] + counts["dev_test"] == 20
  assert counts == splits.plan_sizes(splits.recipe_train({"train": 20, "test": 4}))
  assert ds.labels("test") == [9, 9, 9, 9]
