import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _png(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((16, 16), value, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def test_nih_multi_hot_findings_and_official_lists(tmp_path, monkeypatch):
  manual = tmp_path / "manual"
  manual.mkdir()
  findings = {
      "00000001_000.png": "Cardiomegaly", "00000001_001.png": "Cardiomegaly|Emphysema",
      "00000002_000.png": "No Finding", "00000003_000.png": "Hernia|Mass|Nodule",
      "00000003_001.png": "Atelectasis", "00000004_000.png": "No Finding", "00000005_000.png": "Effusion",
  }
  train = ["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000004_000.png", "00000005_000.png"]
  test = ["00000003_000.png", "00000003_001.png"]
  header = "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position\n"
  with zipfile.ZipFile(manual / "data.zip", "w") as archive:
    rows = "".join(f"{n},{f},0,1,58,M,PA\n" for n, f in findings.items())
    archive.writestr("Data_Entry_2017.csv", header + rows)
    archive.writestr("train_val_list.txt", "\n".join(train) + "\n")
    archive.writestr("test_list.txt", "\n".join(test) + "\n")
    archive.writestr("FAQ_CHESTXRAY.pdf", b"%PDF")
    for k, name in enumerate(sorted(findings)):
      archive.writestr(f"images_{1 + k // 4:03d}/images/{name}", _png(30 * k))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("nih_chest_xray", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("nih_chest_xray")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train({"train": 5, "test": 2}))
  test_labels = store.read("nih_chest_xray", "test").labels
  assert test_labels.shape == (2, 15)
  assert [np.flatnonzero(row).tolist() for row in test_labels] == [[11, 12, 13], [0]]
  seen = np.concatenate([store.read("nih_chest_xray", s).labels for s in ("train", "dev", "dev_test")])
  assert sorted(np.flatnonzero(row).tolist() for row in seen) == [[5, 10], [7], [10], [14], [14]]
