import dataclasses
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
  Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def test_synthetic_covid_two_release_zips(tmp_path, monkeypatch):
  from nevis.streams.handlers import synthetic_covid19_xray

  manual = tmp_path / "manual"
  manual.mkdir()
  with zipfile.ZipFile(manual / "G_NC.zip", "w") as archive:
    for k in range(6):
      archive.writestr(f"G1/{k}.png", _png(30))
  with zipfile.ZipFile(manual / "G_PC.zip", "w") as archive:
    for k in range(5):
      archive.writestr(f"G2/{k}.png", _png(200))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = synthetic_covid19_xray.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(synthetic_covid19_xray, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  NevisDataSource("synthetic_covid19_xray", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  plan = splits.recipe_all({"all": 11})
  manifest = store.manifest("synthetic_covid19_xray")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(plan)
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      data = store.read("synthetic_covid19_xray", split)
      assert data.labels.tolist() == [int(i >= 6) for i in indices]  # G_NC.zip (normal) first
      brightness = data.images.reshape(len(indices), -1).mean(1)
      assert np.allclose(brightness, [200 if i >= 6 else 30 for i in indices])
