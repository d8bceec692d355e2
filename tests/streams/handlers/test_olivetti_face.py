from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_zip
from nevis.streams import splits


def test_olivetti_labels_from_file_names(manual, store_root, monkeypatch):
  from nevis.streams.handlers import olivetti_face as handler

  members = {}
  for subject in (1, 2, 40):
    for n in (1, 2):
      members[f"ORL/{n}_{subject}.jpg"] = encoded(colour(5 * subject), "JPEG", quality=95)
  members["ORL/Thumbs.db"] = b"junk"
  write_zip(manual / "the-orl-database-for-training-and-testing.zip", members)
  without_checksums(monkeypatch, handler)
  assert handler.HANDLER.artefacts[0].kaggle == "tavarez/the-orl-database-for-training-and-testing"
  store = prepare("olivetti_face", store_root, manual)
  assert counts(store, "olivetti_face") == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert len(store.manifest("olivetti_face")["class_names"]) == 41
  assert value_label_pairs(store, "olivetti_face") == [(5, 0)] * 2 + [(10, 1)] * 2 + [(200, 39)] * 2
