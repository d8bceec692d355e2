from .h2_fixtures import assert_levels_follow_labels, image_bytes, level, prepare, split_counts, write_zip
from nevis.streams import splits


def test_mit_scenes_official_lists_in_list_order(tmp_path):
  from nevis.streams.handlers import mit_scenes

  manual = tmp_path / "manual"
  manual.mkdir()
  label = {name: i for i, name in enumerate(mit_scenes.CLASS_NAMES)}
  train = ["stairscase/s1.jpg", "office/o1.jpg", "computerroom/c1.jpg", "office/o2.jpg", "bar/b1.jpg"]
  test = ["computerroom/c2.jpg", "office/o3.jpg"]
  members = {"TrainImages.txt": "\n".join(train).encode(), "TestImages.txt": "\n".join(test).encode()}
  for name in train + test + ["bar/unlisted.jpg"]:
    members[f"indoorCVPR_09/Images/{name}"] = image_bytes(level(label[name.split("/")[0]]), "JPEG")
  write_zip(manual / "indoor-scenes-cvpr-2019.zip", members)
  store = prepare("mit_scenes", tmp_path, manual)  # Kaggle archives carry no checksum
  assert split_counts(store, "mit_scenes") == splits.plan_sizes(splits.recipe_train({"train": 5, "test": 2}))
  assert store.read("mit_scenes", "test").labels.tolist() == [66, 0]
  assert label["stairscase"] == 2
  assert_levels_follow_labels(store, "mit_scenes")
