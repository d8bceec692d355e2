from nevis.streams import splits

from .kit import COLOUR, flat, write_zip


def test_butterflies_published_test_list(manual, prepare):
  members = {"admiral/": b""}
  # admiral 9 and 14 and zebra 6 are on the published test list; the others are train
  fixtures = (("admiral", "adm", (1, 9, 14, 15), 30), ("zebra", "zeb", (6, 7), 90))
  for species, prefix, numbers, value in fixtures:
    for n in numbers:
      members[f"{species}/{prefix}{n:03d}.jpg"] = flat(value + n, "JPEG", COLOUR)
  write_zip(manual / "butterflies.zip", members)
  ds = prepare("butterflies")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 3, "test": 3}))
  assert ds.class_names[0] == "admiral"
  assert ds.pairs("test") == [(39, 0), (44, 0), (96, 6)]
  assert ds.pairs("train", "dev", "dev_test") == [(31, 0), (45, 0), (97, 6)]
