import dataclasses
import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.handlers.base import shrink_to_max_side
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(width, height):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(buffer, format="JPEG")
  return buffer.getvalue()


def test_awa2_attributes_and_unseen_test_classes(tmp_path, monkeypatch):
  from nevis.streams.handlers import awa2

  manual = tmp_path / "manual"
  manual.mkdir()
  root = "Animals_with_Attributes2"
  classes = ["antelope", "grizzly+bear", "killer+whale", "dalmatian"]
  # real predicates are lower-case words ("black", "flippers"...)
  predicates = [f"attr{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(85)]
  matrix = np.zeros((4, 85), int)
  matrix[0, [0, 5]] = 1
  matrix[1, [1]] = 1
  matrix[2, [2, 84]] = 1
  matrix[3, [3, 4, 6]] = 1
  with zipfile.ZipFile(manual / "AwA2-data.zip", "w") as archive:
    archive.writestr(f"{root}/classes.txt", "".join(f"      {i + 1}\t{c}\n" for i, c in enumerate(classes)))
    archive.writestr(f"{root}/predicates.txt", "".join(f"{i + 1}\t{p}\n" for i, p in enumerate(predicates)))
    archive.writestr(f"{root}/trainclasses.txt", "antelope\ngrizzly+bear\nkiller+whale\n")
    archive.writestr(f"{root}/testclasses.txt", "dalmatian\n")
    archive.writestr(f"{root}/predicate-matrix-binary.txt",
                     "".join(" ".join(str(v) for v in row) + "\n" for row in matrix))
    archive.writestr(f"{root}/README-attributes.txt", "readme")
    for c in classes:
      for k in range(3 if c != "dalmatian" else 2):
        archive.writestr(f"{root}/JPEGImages/{c}/{c}_{10001 + k}.jpg", _jpeg(600, 300))
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = awa2.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(awa2, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  extracted = awa2.extract({"AwA2-data.zip": manual / "AwA2-data.zip"})
  first = next(iter(extracted.splits["train"]))
  assert first.image.shape == (300, 600, 3)
  # NEVIS keeps AwA2 at longest side 256: the handler's image rule does it before the store's resize
  assert awa2.HANDLER.image_rule == "max_side:256"
  assert shrink_to_max_side(first.image, 256).shape == (128, 256, 3)
  NevisDataSource("awa2", data_dir=str(tmp_path / "store"), image_size=8).prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("awa2")
  assert manifest["class_names"] == predicates
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_train({"train": 9, "test": 2}))
  test_labels = store.read("awa2", "test").labels
  assert test_labels.shape == (2, 85)
  assert [np.flatnonzero(row).tolist() for row in test_labels] == [[3, 4, 6], [3, 4, 6]]
  seen = np.concatenate([store.read("awa2", s).labels for s in ("train", "dev", "dev_test")])
  assert sorted(tuple(np.flatnonzero(row)) for row in seen) == [(0, 5)] * 3 + [(1,)] * 3 + [(2, 84)] * 3
