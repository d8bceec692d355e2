import io

import numpy as np
import pytest

from nevis.errors import DataError
from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _jpeg(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(buffer, format="JPEG", quality=95)
  return buffer.getvalue()


def test_animal_web_labels_from_file_names_deduplicated(tmp_path, monkeypatch):
  from nevis.streams.handlers import animal_web

  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "animal_dataset_v1_c.rar").write_bytes(b"Rar!\x1a\x07\x00")  # stands for the real archive
  files = {f"saluki_{k}.jpg": _jpeg(10 * k) for k in range(5)}
  files.update({f"urial_{k}.jpg": _jpeg(10 * k) for k in range(4)})  # same pixels, other species: kept
  files["saluki_9.jpg"] = _jpeg(0)  # repeats saluki_0: dropped
  files["notes.txt"] = b"not an image"

  def fake_unrar(archive, directory):  # what `unrar x` leaves: the archive's files
    assert archive.name == "animal_dataset_v1_c.rar"
    for name, data in files.items():
      (directory / name).write_bytes(data)

  monkeypatch.setattr(animal_web, "unpack_rar", fake_unrar)
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  handler = animal_web.HANDLER
  import dataclasses

  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(animal_web, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
  source = NevisDataSource("animal_web", data_dir=str(tmp_path / "store"), image_size=8)
  source.prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("animal_web")
  assert len(manifest["class_names"]) == 352 and manifest["class_names"][0] == "saluki"
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_all({"all": 9}))
  labels = np.concatenate([store.read("animal_web", s).labels for s in SPLITS])
  assert sorted(labels.tolist()) == [0] * 5 + [351] * 4


def test_animal_web_without_a_rar_tool_says_what_to_install(tmp_path, monkeypatch):
  from nevis.streams.handlers import animal_web

  monkeypatch.setattr(animal_web.shutil, "which", lambda tool: None)
  with pytest.raises(DataError, match="unrar"):
    animal_web.unpack_rar(tmp_path / "animal_dataset_v1_c.rar", tmp_path)
  assert "unrar" in animal_web.HANDLER.instructions()
