from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_zip
from nevis.streams import splits


def test_ppmi_classes_and_official_test(manual, store_root, monkeypatch):
  from nevis.streams.handlers import ppmi as handler

  members = {"README": b"text", "norm_image/": b"", "norm_image/play_instrument/": b""}
  for action, instrument, value in (("play", "violin", 40), ("with", "violin", 80), ("play", "flute", 120)):
    for split, count in (("train", 3), ("test", 2)):
      for n in range(count):
        members[f"norm_image/{action}_instrument/{instrument}/{split}/{n}.jpg"] = encoded(
            colour(value + (0 if split == "train" else 5)), "JPEG", quality=95)
  write_zip(manual / "norm_ppmi_12class.zip", members)
  without_checksums(monkeypatch, handler)
  store = prepare("ppmi", store_root, manual)
  assert store.manifest("ppmi")["class_names"] == [
      "norm_image/play_instrument/flute", "norm_image/play_instrument/violin",
      "norm_image/with_instrument/violin",
  ]
  assert counts(store, "ppmi") == splits.plan_sizes(splits.recipe_train({"train": 9, "test": 6}))
  assert value_label_pairs(store, "ppmi", ["test"]) == [(45, 1)] * 2 + [(85, 2)] * 2 + [(125, 0)] * 2
