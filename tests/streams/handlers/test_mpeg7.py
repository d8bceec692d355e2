from nevis.streams import splits

from .kit import flat, write_zip


def test_mpeg7_classes_from_file_prefixes(manual, prepare):
  members = {"original/": b""}
  for name, value in (("apple", 20), ("Bone", 60), ("bat", 100)):
    for n in (1, 2):
      members[f"original/{name}-{n}.gif"] = flat(value, "GIF")
  members["original/confusions.eps"] = b"not a shape"
  members["original/shapedata.gif"] = flat(7, "GIF")
  write_zip(manual / "MPEG7dataset.zip", members)
  ds = prepare("mpeg7")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert ds.class_names == ["Bone", "apple", "bat"]  # sorted, case-sensitive
  assert ds.pairs() == [(20, 1)] * 2 + [(60, 0)] * 2 + [(100, 2)] * 2
