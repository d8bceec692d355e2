import numpy as np

from .kit import flat, write_zip


def test_cmu_amp_seeded_per_subject_split(manual, prepare):
  from nevis.streams.handlers import cmu_amp_expression as handler

  split_of = handler.split_of_file()
  assert len(split_of) == 13 * 75
  for subject in ("A", "M"):
    sizes = [sum(1 for n, s in split_of.items() if n[0] == subject and s == split)
             for split in ("train", "dev", "dev_test", "test")]
    assert sizes == [42, 9, 9, 15]
  # subject A's images are the first permutation of default_rng(1)
  first = np.random.default_rng(1).permutation(75)
  assert split_of[f"A{first[0]:02d}.bmp"] == "train" and split_of[f"A{first[-1]:02d}.bmp"] == "test"

  members = {"readme.txt": b"text"}
  for subject, value in (("A", 40), ("C", 120)):
    for n in range(75):
      members[f"{subject}{n:02d}.bmp"] = flat(value, "BMP", (6, 6))
  write_zip(manual / "faceExpressionDatabase.zip", members)
  ds = prepare("cmu_amp_expression")
  assert ds.counts() == {"train": 84, "dev": 18, "dev_test": 18, "test": 30}
  assert ds.pairs("test") == [(40, 0)] * 15 + [(120, 2)] * 15
