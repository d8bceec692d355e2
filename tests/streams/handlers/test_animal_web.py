import pytest

from nevis.errors import DataError
from nevis.streams import splits

from .kit import flat


def test_animal_web_labels_from_file_names_deduplicated(manual, prepare, monkeypatch):
  from nevis.streams.handlers import animal_web

  (manual / "animal_dataset_v1_c.rar").write_bytes(b"Rar!\x1a\x07\x00")  # stands for the real archive
  jpeg = lambda value: flat(value, "JPEG", (20, 20, 3))
  files = {f"saluki_{k}.jpg": jpeg(10 * k) for k in range(5)}
  files.update({f"urial_{k}.jpg": jpeg(10 * k) for k in range(4)})  # same pixels, other species: kept
  files["saluki_9.jpg"] = jpeg(0)  # repeats saluki_0: dropped
  files["notes.txt"] = b"not an image"

  def fake_unrar(archive, directory):  # what `unrar x` leaves: the archive's files
    assert archive.name == "animal_dataset_v1_c.rar"
    for name, data in files.items():
      (directory / name).write_bytes(data)

  monkeypatch.setattr(animal_web, "unpack_rar", fake_unrar)
  ds = prepare("animal_web")
  assert len(ds.class_names) == 352 and ds.class_names[0] == "saluki"
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert sorted(ds.labels()) == [0] * 5 + [351] * 4


def test_animal_web_without_a_rar_tool_says_what_to_install(tmp_path, monkeypatch):
  from nevis.streams.handlers import animal_web

  monkeypatch.setattr(animal_web.shutil, "which", lambda tool: None)
  with pytest.raises(DataError, match="unrar"):
    animal_web.unpack_rar(tmp_path / "animal_dataset_v1_c.rar", tmp_path)
  assert "unrar" in animal_web.HANDLER.instructions()
