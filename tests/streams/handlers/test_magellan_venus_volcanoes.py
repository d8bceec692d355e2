import numpy as np

from nevis.streams import splits

from .kit import write_tar


def test_magellan_labels_from_confidence_one(manual, prepare):
  ground_truth = {
      1: "1 10 12 3\n2 40 41 5\n",  # a definite volcano
      2: "3 1 1 2\n4 5 5 1\n",  # only uncertain ones
      3: "",  # no volcano
      4: "2 1 1 1\n1 9 9 9\n",
  }  # image 5 has no ground-truth file
  members = {"package/README": b"text", "package/Tables/x.tab": b"1 2 3"}
  for k in range(1, 6):
    members[f"package/Images/img{k}.sdt"] = np.full((16, 16), 40 * k, np.uint8).tobytes()
    members[f"package/Images/img{k}.spr"] = b"header"
    if k in ground_truth:
      members[f"package/GroundTruths/img{k}.lxyr"] = ground_truth[k].encode()
  write_tar(manual / "volcanoes.tar.gz", members)
  ds = prepare("magellan_venus_volcanoes")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 5}))
  assert ds.pairs() == [(40, 1), (80, 0), (120, 0), (160, 1), (200, 0)]
  assert ds.class_names == ["no_volcano", "volcano"]
