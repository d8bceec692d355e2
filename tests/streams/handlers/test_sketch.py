from nevis.streams import splits

from .kit import flat, write_zip


def test_sketch_labels_follow_nevis_class_order(manual, prepare):
  from nevis.streams.handlers import sketch

  classes = ["airplane", "snail", "crane (machine)"]
  members = {"png/filelist.txt": "airplane/1.png\n"}
  for c in classes:
    for k in range(4):
      members[f"png/{c}/{k + 1}.png"] = flat(255)
  write_zip(manual / "sketches_png.zip", members)
  ds = prepare("sketch")
  assert len(ds.class_names) == 250 and ds.class_names[0] == "snail"
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 12}))
  labels = ds.labels()
  assert sorted(labels) == sorted([sketch.CLASS_NAMES.index(c) for c in classes for _ in range(4)])
  assert sorted(set(labels)) == [0, 2, 209]  # snail, crane (machine), airplane in NEVIS's list
