import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _png(value, mode_shape):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full(mode_shape, value, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def test_tubercolosis_folders(tmp_path, monkeypatch):
  manual = tmp_path / "manual"
  manual.mkdir()
  root = "TB_Chest_Radiography_Database"
  with zipfile.ZipFile(manual / "tuberculosis-tb-chest-xray-dataset.zip", "w") as archive:
    archive.writestr(f"{root}/Normal.metadata.xlsx", b"xlsx")
    archive.writestr(f"{root}/Tuberculosis.metadata.xlsx", b"xlsx")
    archive.writestr(f"{root}/README.md.txt", "readme")
    for k in range(7):
      archive.writestr(f"{root}/Normal/Normal-{k + 1}.png", _png(50, (16, 16)))
    for k in range(4):
      archive.writestr(f"{root}/Tuberculosis/Tuberculosis-{k + 1}.png", _png(150, (16, 16, 3)))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("tubercolosis", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("tubercolosis")
  assert manifest["class_names"] == ["Normal", "Tuberculosis"]
  plan = splits.recipe_all({"all": 11})
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(plan)
  # sorted names: Normal-1..7 then Tuberculosis-1..4, so example i is Tuberculosis when i >= 7
  for split in SPLITS:
    if plan[split]:
      indices = plan[split][0][1]
      data = store.read("tubercolosis", split)
      assert data.labels.tolist() == [int(i >= 7) for i in indices]
      brightness = data.images.reshape(len(indices), -1).mean(1)
      assert np.allclose(brightness, [150 if i >= 7 else 50 for i in indices])
