from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_tar
from nevis.streams import splits


def test_aloi_illumination_images_are_test(manual, store_root, monkeypatch):
  from nevis.streams.handlers import aloi as handler

  codes = {"aloi_red4_col.tar": ("c1", "c2"), "aloi_red4_view.tar": ("r0", "r5", "r10"),
           "aloi_red4_ill.tar": ("l1c1", "l2c1")}
  for tar, view_codes in codes.items():
    members = {}
    for obj, value in ((1, 20), (1000, 220)):
      for code in view_codes:
        members[f"png4/{obj}/{obj}_{code}.png"] = encoded(colour(value), "PNG")
    write_tar(manual / tar, members, mode="w")
  without_checksums(monkeypatch, handler)
  store = prepare("aloi", store_root, manual)
  assert counts(store, "aloi") == splits.plan_sizes(splits.recipe_train({"train": 10, "test": 4}))
  assert len(store.manifest("aloi")["class_names"]) == 1000
  assert value_label_pairs(store, "aloi", ["test"]) == [(20, 0), (20, 0), (220, 999), (220, 999)]
