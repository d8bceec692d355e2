from .h1_archives import counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_tar
from nevis.streams import splits


def test_umist_subject_folders_in_nevis_order(manual, store_root, monkeypatch):
  from nevis.streams.handlers import umist as handler

  members = {}
  for subject, value in (("1a", 20), ("1s", 60), ("1j", 100)):
    for n in range(2):
      members[f"{subject}/{subject}{n:03d}.pgm"] = encoded(grey(value), "PPM")
  members["README"] = b"text"
  write_tar(manual / "face.tar.gz", members)
  without_checksums(monkeypatch, handler)
  store = prepare("umist", store_root, manual)
  assert counts(store, "umist") == splits.plan_sizes(splits.recipe_all({"all": 6}))
  # NEVIS's subject order: 1s is 0, 1a is 12, 1j is 19
  assert value_label_pairs(store, "umist") == [(20, 12)] * 2 + [(60, 0)] * 2 + [(100, 19)] * 2
