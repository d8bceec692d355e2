from .kit import flat, write_tar


def test_lfw_per_subject_split(manual, prepare):
  from nevis.streams.handlers import lfw

  # Ann has 6 images, Bob 2 (dropped: fewer than 5), Cid 5
  people = {"Ann_A": 6, "Bob_B": 2, "Cid_C": 5}
  write_tar(manual / "lfw.tgz", {f"lfw/{person}/{person}_{k + 1:04d}.jpg": flat(40 * k, "JPEG", (16, 16, 3))
                                 for person, count in people.items() for k in range(count)})
  assert [lfw.split_of_position(i, 6) for i in range(6)] == [
      "train", "train", "dev", "dev_test", "test", "test"]
  ds = prepare("lfw")
  assert ds.class_names == ["Ann_A", "Cid_C"]
  assert ds.counts() == {"train": 3, "dev": 2, "dev_test": 2, "test": 4}
  assert ds.labels("test") == [0, 0, 1, 1]
  assert ds.labels("train") == [0, 0, 1]
  # Ann's dev image is her third (grey 80)
  assert abs(ds.means("dev")[0] - 80) < 3
