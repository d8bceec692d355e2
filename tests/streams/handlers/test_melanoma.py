import io
import zipfile

import numpy as np

from .archive_fixtures import png_bytes, without_checksums
from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((20, 30, 3), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def _isic(manual, stem, csv_name, rows):
  with zipfile.ZipFile(manual / f"{stem}.zip", "w") as archive:
    for image_id, value, _, _ in rows:
      archive.writestr(f"{stem}/{image_id}.jpg", _jpeg(value))
      archive.writestr(f"{stem}/{image_id}_superpixels.png", png_bytes(np.zeros((4, 4), np.uint8)))
  lines = ["image_id,melanoma,seborrheic_keratosis"]
  lines += [f"{image_id},{m:.1f},{k:.1f}" for image_id, _, m, k in rows]
  (manual / csv_name).write_text("\n".join(lines) + "\n")


def test_melanoma_splits_like_nevis(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import melanoma

  manual = tmp_path / "manual"
  manual.mkdir()
  # CSV row i: image ISIC_000000i, grey value 20 * i; rows 0-3 melanoma, 4-6 keratosis, 7-9 nevus
  train_rows = [(f"ISIC_000000{i}", 20 * i, float(i < 4), float(4 <= i < 7)) for i in range(10)]
  _isic(manual, "ISIC-2017_Training_Data", "ISIC-2017_Training_Part3_GroundTruth.csv", train_rows)
  _isic(manual, "ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part3_GroundTruth.csv",
        [("ISIC_0001000", 5, 1.0, 0.0), ("ISIC_0001001", 5, 0.0, 0.0)])
  _isic(manual, "ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part3_GroundTruth.csv",
        [("ISIC_0002000", 7, 0.0, 1.0)])
  without_checksums(monkeypatch, melanoma)
  NevisDataSource("melanoma", data_dir=str(store_root), image_size=8).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=8)
  counts = {s: store.manifest("melanoma")["splits"][s]["count"] for s in SPLITS}
  assert counts == {"train": 8, "dev": 2, "dev_test": 2, "test": 1}
  # default_rng(1).permutation(10) = [8, 4, 7, 0, 1, 2, 5, 9, 6, 3]: rows 6 and 3 are dev, in zip order
  dev = store.read("melanoma", "dev")
  assert dev.labels.tolist() == [0, 1]  # row 3 melanoma, row 6 keratosis
  assert np.allclose(dev.images.reshape(2, -1).mean(1), [60, 120], atol=3)
  assert store.read("melanoma", "dev_test").labels.tolist() == [0, 2]
  assert store.read("melanoma", "test").labels.tolist() == [1]


def test_sketch_labels_follow_nevis_class_order(tmp_path, store_root, monkeypatch):
  from nevis.streams.handlers import sketch

  manual = tmp_path / "manual"
  manual.mkdir()
  classes = ["airplane", "snail", "crane (machine)"]
  with zipfile.ZipFile(manual / "sketches_png.zip", "w") as archive:
    archive.writestr("png/filelist.txt", "airplane/1.png\n")
    for c in classes:
      for k in range(4):
        archive.writestr(f"png/{c}/{k + 1}.png", png_bytes(np.full((12, 12), 255, np.uint8)))
  without_checksums(monkeypatch, sketch)
  NevisDataSource("sketch", data_dir=str(store_root), image_size=8).prepare(manual_dir=str(manual))
  store = Store(store_root, image_size=8)
  manifest = store.manifest("sketch")
  assert len(manifest["class_names"]) == 250 and manifest["class_names"][0] == "snail"
  counts = {s: manifest["splits"][s]["count"] for s in SPLITS}
  assert counts == splits.plan_sizes(splits.recipe_all({"all": 12}))
  labels = np.concatenate([store.read("sketch", s).labels for s in SPLITS])
  assert sorted(labels.tolist()) == sorted([sketch.CLASS_NAMES.index(c) for c in classes for _ in range(4)])
  assert sorted(set(labels.tolist())) == [0, 2, 209]  # snail, crane (machine), airplane in NEVIS's list
