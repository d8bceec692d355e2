from nevis.streams import splits

from .kit import COLOUR, flat, level, write_tar


def test_fgvc_aircraft_family_trainval_and_test_lists(manual, prepare):
  data = "fgvc-aircraft-2013b/data"
  families = ["A300", "Boeing 707", "Cessna 172"]
  trainval = [("0034309", "Boeing 707"), ("0034958", "A300"), ("0037511", "Cessna 172"), ("0037512", "A300")]
  test = [("1025794", "Cessna 172"), ("0041234", "Boeing 707")]
  members = {f"{data}/families.txt": ("\n".join(families) + "\n").encode(),
             f"{data}/variants.txt": b"707-320\n",
             f"{data}/images_family_train.txt": b"0034309 A300\n",  # the train-only list: not used
             f"{data}/images_variant_trainval.txt": b"0034309 707-320\n"}
  for image_id, family in trainval + test:
    members[f"{data}/images/{image_id}.jpg"] = flat(level(families.index(family)), "JPEG", COLOUR)
  members[f"{data}/images_family_trainval.txt"] = "".join(f"{i} {f}\n" for i, f in trainval).encode()
  members[f"{data}/images_family_test.txt"] = "".join(f"{i} {f}\n" for i, f in test).encode()
  write_tar(manual / "fgvc-aircraft-2013b.tar.gz", members, folders=True)
  ds = prepare("fgvc_aircraft_family")
  assert ds.class_names == families
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 4, "test": 2}))
  assert ds.labels("test") == [2, 1]  # archive order
  ds.assert_levels_follow_labels()
