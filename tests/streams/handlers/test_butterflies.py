from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_zip
from nevis.streams import splits


def test_butterflies_published_test_list(manual, store_root, monkeypatch):
  from nevis.streams.handlers import butterflies as handler

  members = {"admiral/": b""}
  # admiral 9 and 14 and zebra 6 are on the published test list; the others are train
  fixtures = (("admiral", "adm", (1, 9, 14, 15), 30), ("zebra", "zeb", (6, 7), 90))
  for species, prefix, numbers, value in fixtures:
    for n in numbers:
      members[f"{species}/{prefix}{n:03d}.jpg"] = encoded(colour(value + n), "JPEG", quality=95)
  write_zip(manual / "butterflies.zip", members)
  without_checksums(monkeypatch, handler)
  store = prepare("butterflies", store_root, manual)
  assert counts(store, "butterflies") == splits.plan_sizes(splits.recipe_train({"train": 3, "test": 3}))
  assert store.manifest("butterflies")["class_names"][0] == "admiral"
  assert value_label_pairs(store, "butterflies", ["test"]) == [(39, 0), (44, 0), (96, 6)]
  assert value_label_pairs(store, "butterflies", ["train", "dev", "dev_test"]) == [(31, 0), (45, 0), (97, 6)]
