from .h1_archives import counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_zip


def test_extended_yaleb_split_by_pose(manual, store_root, monkeypatch):
  from nevis.streams.handlers import extended_yaleb as handler

  poses = ("P00", "P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08")
  members = {}
  for subject, value in (("yaleB11", 20), ("yaleB39", 200)):
    members[f"ExtendedYaleB/{subject}/"] = b""
    members[f"ExtendedYaleB/{subject}/{subject}_P00.info"] = b"list"
    members[f"ExtendedYaleB/{subject}/{subject}_P00_Ambient.pgm"] = encoded(grey(1), "PPM")
    for k, pose in enumerate(poses):
      members[f"ExtendedYaleB/{subject}/{subject}_{pose}A+000E+00.pgm"] = encoded(grey(value + k), "PPM")
  write_zip(manual / "extended-yale-dataset-b.zip", members)
  without_checksums(monkeypatch, handler)
  assert handler.HANDLER.artefacts[0].kaggle == "souvadrahati/extended-yale-dataset-b"
  store = prepare("extended_yaleb", store_root, manual)
  assert store.manifest("extended_yaleb")["class_names"] == ["yaleB11", "yaleB39"]
  assert counts(store, "extended_yaleb") == {"train": 10, "dev": 2, "dev_test": 2, "test": 4}
  # the grey value is subject value + pose number
  assert value_label_pairs(store, "extended_yaleb", ["dev"]) == [(25, 0), (205, 1)]
  assert value_label_pairs(store, "extended_yaleb", ["dev_test"]) == [(21, 0), (201, 1)]
  assert value_label_pairs(store, "extended_yaleb", ["test"]) == [(26, 0), (28, 0), (206, 1), (208, 1)]
