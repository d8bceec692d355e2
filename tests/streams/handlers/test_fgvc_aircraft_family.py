from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_tar)
from nevis.streams import splits


def test_fgvc_aircraft_family_trainval_and_test_lists(tmp_path, monkeypatch):
  from nevis.streams.handlers import fgvc_aircraft_family as fgvc

  manual = tmp_path / "manual"
  manual.mkdir()
  data = "fgvc-aircraft-2013b/data"
  families = ["A300", "Boeing 707", "Cessna 172"]
  trainval = [("0034309", "Boeing 707"), ("0034958", "A300"), ("0037511", "Cessna 172"), ("0037512", "A300")]
  test = [("1025794", "Cessna 172"), ("0041234", "Boeing 707")]
  members = {f"{data}/families.txt": ("\n".join(families) + "\n").encode(),
             f"{data}/variants.txt": b"707-320\n",
             f"{data}/images_family_train.txt": b"0034309 A300\n",  # the train-only list: not used
             f"{data}/images_variant_trainval.txt": b"0034309 707-320\n"}
  for image_id, family in trainval + test:
    members[f"{data}/images/{image_id}.jpg"] = image_bytes(level(families.index(family)), "JPEG")
  members[f"{data}/images_family_trainval.txt"] = "".join(f"{i} {f}\n" for i, f in trainval).encode()
  members[f"{data}/images_family_test.txt"] = "".join(f"{i} {f}\n" for i, f in test).encode()
  write_tar(manual / "fgvc-aircraft-2013b.tar.gz", members, "w:gz")
  without_checksums(monkeypatch, fgvc)
  store = prepare("fgvc_aircraft_family", tmp_path, manual)
  assert store.manifest("fgvc_aircraft_family")["class_names"] == families
  assert split_counts(store, "fgvc_aircraft_family") == splits.plan_sizes(
      splits.recipe_train({"train": 4, "test": 2}))
  assert store.read("fgvc_aircraft_family", "test").labels.tolist() == [2, 1]  # archive order
  assert_levels_follow_labels(store, "fgvc_aircraft_family")
