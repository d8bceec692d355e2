import zipfile

from .h3_fixtures import counts, grey, labels, manual_dir, prepare, SPLITS
from nevis.streams import splits


def test_animal_classes_from_both_zips(tmp_path, monkeypatch):
  from nevis.streams.handlers import animal

  manual = manual_dir(tmp_path)
  with zipfile.ZipFile(manual / "non_rigid_shape_A.zip", "w") as archive:
    archive.writestr("non_rigid_shape_A/", b"")
    for cls in ("cat", "bird"):
      for k in range(3):
        archive.writestr(f"non_rigid_shape_A/{cls}/{cls}{k + 1}.tif", grey(255, fmt="TIFF"))
  with zipfile.ZipFile(manual / "non_rigid_shape_B.zip", "w") as archive:
    for k in range(2):
      archive.writestr(f"non_rigid_shape_B/aardvark/aardvark{k + 1}.tif", grey(255, fmt="TIFF"))
  store = prepare("animal", animal, tmp_path, monkeypatch)
  assert store.manifest("animal")["class_names"] == ["bird", "cat", "aardvark"]
  assert counts(store, "animal") == splits.plan_sizes(splits.recipe_all({"all": 8}))
  every = sum((labels(store, "animal", s) for s in SPLITS), [])
  assert sorted(every) == [0, 0, 0, 1, 1, 1, 2, 2]
