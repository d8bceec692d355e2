from .kit import flat, write_zip


def test_lfwa_per_subject_split(manual, prepare):
  people = {"Zed_Z": 5, "Bob_B": 4, "Ann_A": 6}  # Bob has fewer than 5 images: dropped
  members = {f"lfw2/{person}/{person}_{k + 1:04d}.jpg": flat(40 * k, "JPEG", (16, 16))
             for person, count in people.items() for k in range(count)}
  members["lfw2/Ann_A/Thumbs.txt"] = b"x"
  write_zip(manual / "lfwa.zip", members)
  ds = prepare("lfwa")
  assert ds.class_names == ["Zed_Z", "Ann_A"]  # order of first appearance
  assert ds.counts() == {"train": 3, "dev": 2, "dev_test": 2, "test": 4}
  assert ds.labels("train") == [0, 1, 1]
  assert ds.labels("test") == [0, 0, 1, 1]
  assert abs(ds.means("dev")[1] - 80) < 3  # Ann's third image
