"""Semeion, USPS and Landsat from tiny files in their original text formats."""
import bz2

import numpy as np

from .archive_fixtures import without_checksums
from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _counts(store, dataset):
  manifest = store.manifest(dataset)
  return {s: manifest["splits"][s]["count"] for s in SPLITS}


def _all_labels(store, dataset):
  return np.concatenate([np.asarray(store.read(dataset, s).labels) for s in SPLITS])


def test_semeion(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import semeion

  manual = tmp_path / "manual"
  manual.mkdir()
  lines = []
  for i in range(30):
    digit = i % 10
    pixels = ["1.0000" if p < digit * 10 else "0.0000" for p in range(256)]
    one_hot = ["1" if d == digit else "0" for d in range(10)]
    lines.append(" ".join(pixels + one_hot) + " \n")
  (manual / "semeion.data").write_text("".join(lines))
  image, label = semeion.parse_line(lines[3])
  assert label == 3 and image.shape == (16, 16) and image.reshape(-1)[:31].tolist() == [255] * 30 + [0]
  without_checksums(monkeypatch, semeion)
  NevisDataSource("semeion", data_dir=str(store_root), image_size=16).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=16)
  assert _counts(store, "semeion") == splits.plan_sizes(splits.recipe_all({"all": 30}))
  assert sorted(_all_labels(store, "semeion").tolist()) == sorted([i % 10 for i in range(30)])


def test_usps(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import usps

  manual = tmp_path / "manual"
  manual.mkdir()

  def line(label):
    values = [-1.0] * 255 + [1.0]
    return f"{label} " + " ".join(f"{i + 1}:{v}" for i, v in enumerate(values)) + " \n"

  with bz2.open(manual / "usps.bz2", "wt") as f:
    f.writelines(line(1 + i % 10) for i in range(20))
  with bz2.open(manual / "usps.t.bz2", "wt") as f:
    f.writelines(line(10) for _ in range(4))
  image, label = usps.parse_line(line(10))
  assert label == 9 and image[0, 0] == 0 and image[15, 15] == 255
  without_checksums(monkeypatch, usps)
  NevisDataSource("usps", data_dir=str(store_root), image_size=16).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=16)
  counts = _counts(store, "usps")
  assert counts["test"] == 4 and counts["train"] + counts["dev"] + counts["dev_test"] == 20
  assert counts == splits.plan_sizes(splits.recipe_train({"train": 20, "test": 4}))
  assert store.read("usps", "test").labels.tolist() == [9, 9, 9, 9]


def test_landsat(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import landsat

  manual = tmp_path / "manual"
  manual.mkdir()

  def rows(n, label):
    # 9 pixels x 4 bands, pixel-major; band b of every pixel = 10 * (b + 1)
    return "".join(" ".join(["10", "20", "30", "99"] * 9 + [str(label)]) + "\n" for _ in range(n))

  (manual / "sat.trn").write_text(rows(12, 1) + rows(8, 7))
  (manual / "sat.tst").write_text(rows(5, 3))
  without_checksums(monkeypatch, landsat)
  NevisDataSource("landsat", data_dir=str(store_root), image_size=4).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=4)
  counts = _counts(store, "landsat")
  assert counts["test"] == 5 and sum(counts.values()) == 25
  test = store.read("landsat", "test")
  assert test.labels.tolist() == [2] * 5
  # the 4th band is dropped: pixels are (10, 20, 30) after upsampling a constant patch
  assert np.all(test.images[..., 0] == 10) and np.all(test.images[..., 2] == 30)
  assert sorted(set(_all_labels(store, "landsat").tolist())) == [0, 2, 6]
  assert len(store.manifest("landsat")["class_names"]) == 7
