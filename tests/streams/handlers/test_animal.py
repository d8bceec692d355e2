from nevis.streams import splits

from .kit import flat, write_zip


def test_animal_classes_from_both_zips(manual, prepare):
  members = {"non_rigid_shape_A/": b""}
  for cls in ("cat", "bird"):
    for k in range(3):
      members[f"non_rigid_shape_A/{cls}/{cls}{k + 1}.tif"] = flat(255, "TIFF")
  write_zip(manual / "non_rigid_shape_A.zip", members)
  write_zip(manual / "non_rigid_shape_B.zip", {f"non_rigid_shape_B/aardvark/aardvark{k + 1}.tif": flat(255, "TIFF")
                                               for k in range(2)})
  ds = prepare("animal")
  assert ds.class_names == ["bird", "cat", "aardvark"]
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 8}))
  assert sorted(ds.labels()) == [0, 0, 0, 1, 1, 1, 2, 2]
