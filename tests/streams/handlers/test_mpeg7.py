from .h1_archives import counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_zip
from nevis.streams import splits


def test_mpeg7_classes_from_file_prefixes(manual, store_root, monkeypatch):
  from nevis.streams.handlers import mpeg7 as handler

  members = {"original/": b""}
  for name, value in (("apple", 20), ("Bone", 60), ("bat", 100)):
    for n in (1, 2):
      members[f"original/{name}-{n}.gif"] = encoded(grey(value), "GIF")
  members["original/confusions.eps"] = b"not a shape"
  members["original/shapedata.gif"] = encoded(grey(7), "GIF")
  write_zip(manual / "MPEG7dataset.zip", members)
  without_checksums(monkeypatch, handler)
  store = prepare("mpeg7", store_root, manual)
  assert counts(store, "mpeg7") == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert store.manifest("mpeg7")["class_names"] == ["Bone", "apple", "bat"]  # sorted, case-sensitive
  assert value_label_pairs(store, "mpeg7") == [(20, 1)] * 2 + [(60, 0)] * 2 + [(100, 2)] * 2
