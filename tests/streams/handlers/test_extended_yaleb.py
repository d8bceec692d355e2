from .kit import flat, write_zip


def test_extended_yaleb_split_by_pose(manual, prepare):
  from nevis.streams.handlers import extended_yaleb as handler

  poses = ("P00", "P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08")
  members = {}
  for subject, value in (("yaleB11", 20), ("yaleB39", 200)):
    members[f"ExtendedYaleB/{subject}/"] = b""
    members[f"ExtendedYaleB/{subject}/{subject}_P00.info"] = b"list"
    members[f"ExtendedYaleB/{subject}/{subject}_P00_Ambient.pgm"] = flat(1, "PPM")
    for k, pose in enumerate(poses):
      members[f"ExtendedYaleB/{subject}/{subject}_{pose}A+000E+00.pgm"] = flat(value + k, "PPM")
  write_zip(manual / "extended-yale-dataset-b.zip", members)
  ds = prepare("extended_yaleb")
  assert handler.HANDLER.artefacts[0].kaggle == "souvadrahati/extended-yale-dataset-b"
  assert ds.class_names == ["yaleB11", "yaleB39"]
  assert ds.counts() == {"train": 10, "dev": 2, "dev_test": 2, "test": 4}
  # the grey value is subject value + pose number
  assert ds.pairs("dev") == [(25, 0), (205, 1)]
  assert ds.pairs("dev_test") == [(21, 0), (201, 1)]
  assert ds.pairs("test") == [(26, 0), (28, 0), (206, 1), (208, 1)]
