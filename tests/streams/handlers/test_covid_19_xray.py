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


def test_covid_folder_labels_masks_skipped_and_duplicates_dropped(tmp_path, monkeypatch):
  from nevis.streams.handlers import covid_19_xray

  # NEVIS's layout (<class>/<file>) and Kaggle's current one (<class>/images/<file>, <class>/masks/<file>)
  assert covid_19_xray.label_of("COVID-19 Radiography Database/Viral Pneumonia/Viral Pneumonia (1).png") == 3
  assert covid_19_xray.label_of("COVID-19_Radiography_Dataset/Lung_Opacity/images/Lung_Opacity-1.png") == 1
  assert covid_19_xray.label_of("COVID-19_Radiography_Dataset/Lung_Opacity/masks/Lung_Opacity-1.png") is None
  manual = tmp_path / "manual"
  manual.mkdir()
  root = "COVID-19_Radiography_Dataset"
  with zipfile.ZipFile(manual / "covid19-radiography-database.zip", "w") as archive:
    archive.writestr(f"{root}/COVID.metadata.xlsx", b"xlsx")
    archive.writestr(f"{root}/README.md.txt", "readme")
    for name, count in (("COVID", 3), ("Lung_Opacity", 2), ("Normal", 4), ("Viral Pneumonia", 2)):
      for k in range(count):
        archive.writestr(f"{root}/{name}/images/{name}-{k + 1}.png", _png(20 * k))
        archive.writestr(f"{root}/{name}/masks/{name}-{k + 1}.png", _png(255))
    archive.writestr(f"{root}/Normal/images/Normal-9.png", _png(20))  # repeats Normal-2: dropped
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("covid_19_xray", data_dir=str(tmp_path / "store"), image_size=8).prepare(
      manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("covid_19_xray")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_all({"all": 11}))
  labels = np.concatenate([store.read("covid_19_xray", s).labels for s in SPLITS])
  assert sorted(labels.tolist()) == [0] * 3 + [1] * 2 + [2] * 4 + [3] * 2
  images = np.concatenate([store.read("covid_19_xray", s).images for s in SPLITS])
  assert images.max() < 255  # no mask made it in
