from nevis.streams import splits

from .kit import COLOUR, flat, write_zip


def test_ppmi_classes_and_official_test(manual, prepare):
  members = {"README": b"text", "norm_image/": b"", "norm_image/play_instrument/": b""}
  for action, instrument, value in (("play", "violin", 40), ("with", "violin", 80), ("play", "flute", 120)):
    for split, count in (("train", 3), ("test", 2)):
      for n in range(count):
        members[f"norm_image/{action}_instrument/{instrument}/{split}/{n}.jpg"] = flat(
            value + (0 if split == "train" else 5), "JPEG", COLOUR)
  write_zip(manual / "norm_ppmi_12class.zip", members)
  ds = prepare("ppmi")
  assert ds.class_names == [
      "norm_image/play_instrument/flute", "norm_image/play_instrument/violin",
      "norm_image/with_instrument/violin",
  ]
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 9, "test": 6}))
  assert ds.pairs("test") == [(45, 1)] * 2 + [(85, 2)] * 2 + [(125, 0)] * 2
