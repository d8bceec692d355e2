from nevis.streams import splits

from .kit import flat, write_zip


def test_food101n_verified_lists(manual, prepare):
  from nevis.streams.handlers import food101n

  root = "Food-101N_release"
  train = [f"pizza/{k:032x}.jpg" for k in range(7)]
  test = ["sushi/aa.jpg", "pizza/bb.jpg"]
  members = {
      f"{root}/meta/classes.txt": "class_name\npizza\nsushi\n",
      f"{root}/meta/verified_train.tsv":
          "class_name/key\tverification_label\n" + "".join(f"{n}\t{k % 2}\n" for k, n in enumerate(train)),
      f"{root}/meta/verified_val.tsv": "class_name/key\tverification_label\n" + "".join(f"{n}\t1\n" for n in test),
  }
  for name in train + test + ["sushi/unlisted.jpg"]:
    members[f"{root}/images/{name}"] = flat(30, "JPEG", (20, 20, 3))
  write_zip(manual / "Food-101N_release.zip", members)
  ds = prepare("food101n")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 7, "test": 2}))
  assert ds.labels("test") == [63, 88]  # archive order: sushi, pizza
  assert "Google Drive" in food101n.HANDLER.instructions()
