"""Semeion from a tiny file in its original text format."""
from nevis.streams import splits


def test_semeion(manual, prepare):
  from nevis.streams.handlers import semeion

  lines = []
  for i in range(30):
    digit = i % 10
    pixels = ["1.0000" if p < digit * 10 else "0.0000" for p in range(256)]
    one_hot = ["1" if d == digit else "0" for d in range(10)]
    lines.append(" ".join(pixels + one_hot) + " \n")
  (manual / "semeion.data").write_text("".join(lines))
  image, label = semeion.parse_line(lines[3])
  assert label == 3 and image.shape == (16, 16) and image.reshape(-1)[:31].tolist() == [255] * 30 + [0]
  ds = prepare("semeion", image_size=16)
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 30}))
  assert sorted(ds.labels()) == sorted([i % 10 for i in range(30)])
