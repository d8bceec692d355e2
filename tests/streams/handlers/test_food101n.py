import dataclasses
import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_food101n_verified_lists(tmp_path, monkeypatch):
  from nevis.streams.handlers import food101n

  manual = tmp_path / "manual"
  manual.mkdir()
  root = "Food-101N_release"
  train = [f"pizza/{k:032x}.jpg" for k in range(7)]
  test = ["sushi/aa.jpg", "pizza/bb.jpg"]
  with zipfile.ZipFile(manual / "Food-101N_release.zip", "w") as archive:
    archive.writestr(f"{root}/meta/classes.txt", "class_name\npizza\nsushi\n")
    archive.writestr(f"{root}/meta/verified_train.tsv",
                     "class_name/key\tverification_label\n"
                     + "".join(f"{n}\t{k % 2}\n" for k, n in enumerate(train)))
    archive.writestr(f"{root}/meta/verified_val.tsv",
                     "class_name/key\tverification_label\n" + "".join(f"{n}\t1\n" for n in test))
    for name in train + test + ["sushi/unlisted.jpg"]:
      archive.writestr(f"{root}/images/{name}", _jpeg(30))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = food101n.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(food101n, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  NevisDataSource("food101n", data_dir=str(tmp_path / "store"), image_size=8).prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("food101n")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train({"train": 7, "test": 2}))
  assert store.read("food101n", "test").labels.tolist() == [63, 88]  # archive order: sushi, pizza
  assert "Google Drive" in food101n.HANDLER.instructions()
