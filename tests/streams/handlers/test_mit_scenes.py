from nevis.streams import splits

from .kit import COLOUR, flat, level, write_zip


def test_mit_scenes_official_lists_in_list_order(manual, prepare):
  from nevis.streams.handlers import mit_scenes

  label = {name: i for i, name in enumerate(mit_scenes.CLASS_NAMES)}
  train = ["stairscase/s1.jpg", "office/o1.jpg", "computerroom/c1.jpg", "office/o2.jpg", "bar/b1.jpg"]
  test = ["computerroom/c2.jpg", "office/o3.jpg"]
  members = {"TrainImages.txt": "\n".join(train).encode(), "TestImages.txt": "\n".join(test).encode()}
  for name in train + test + ["bar/unlisted.jpg"]:
    members[f"indoorCVPR_09/Images/{name}"] = flat(level(label[name.split("/")[0]]), "JPEG", COLOUR)
  write_zip(manual / "indoor-scenes-cvpr-2019.zip", members)
  ds = prepare("mit_scenes", checksums=True)  # Kaggle archives carry no checksum
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 5, "test": 2}))
  assert ds.labels("test") == [66, 0]
  assert label["stairscase"] == 2
  ds.assert_levels_follow_labels()
