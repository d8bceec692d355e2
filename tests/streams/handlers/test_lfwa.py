import zipfile

from .h3_fixtures import counts, grey, labels, manual_dir, means, prepare


def test_lfwa_per_subject_split(tmp_path, monkeypatch):
  from nevis.streams.handlers import lfwa

  manual = manual_dir(tmp_path)
  people = {"Zed_Z": 5, "Bob_B": 4, "Ann_A": 6}  # Bob has fewer than 5 images: dropped
  with zipfile.ZipFile(manual / "lfwa.zip", "w") as archive:
    for person, count in people.items():
      for k in range(count):
        archive.writestr(f"lfw2/{person}/{person}_{k + 1:04d}.jpg", grey(40 * k, (16, 16), "JPEG"))
    archive.writestr("lfw2/Ann_A/Thumbs.txt", b"x")
  store = prepare("lfwa", lfwa, tmp_path, monkeypatch)
  assert store.manifest("lfwa")["class_names"] == ["Zed_Z", "Ann_A"]  # order of first appearance
  assert counts(store, "lfwa") == {"train": 3, "dev": 2, "dev_test": 2, "test": 4}
  assert labels(store, "lfwa", "train") == [0, 1, 1]
  assert labels(store, "lfwa", "test") == [0, 0, 1, 1]
  assert abs(means(store, "lfwa", "dev")[1] - 80) < 3  # Ann's third image
