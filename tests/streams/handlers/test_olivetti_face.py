from nevis.streams import splits

from .kit import COLOUR, flat, write_zip


def test_olivetti_labels_from_file_names(manual, prepare):
  from nevis.streams.handlers import olivetti_face as handler

  members = {f"ORL/{n}_{subject}.jpg": flat(5 * subject, "JPEG", COLOUR) for subject in (1, 2, 40) for n in (1, 2)}
  members["ORL/Thumbs.db"] = b"junk"
  write_zip(manual / "the-orl-database-for-training-and-testing.zip", members)
  ds = prepare("olivetti_face")
  assert handler.HANDLER.artefacts[0].kaggle == "tavarez/the-orl-database-for-training-and-testing"
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert len(ds.class_names) == 41
  assert ds.pairs() == [(5, 0)] * 2 + [(10, 1)] * 2 + [(200, 39)] * 2
