from nevis.streams import splits

from .kit import flat, write_tar


def test_umist_subject_folders_in_nevis_order(manual, prepare):
  members = {f"{subject}/{subject}{n:03d}.pgm": flat(value, "PPM")
             for subject, value in (("1a", 20), ("1s", 60), ("1j", 100)) for n in range(2)}
  members["README"] = b"text"
  write_tar(manual / "face.tar.gz", members)
  ds = prepare("umist")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 6}))
  # NEVIS's subject order: 1s is 0, 1a is 12, 1j is 19
  assert ds.pairs() == [(20, 12)] * 2 + [(60, 0)] * 2 + [(100, 19)] * 2
