import json

from nevis.streams import splits

from .kit import flat, write_zip


def _coco(manual, split, images, annotations):
  write_zip(manual / f"{split}2017.zip", {f"{split}2017/{image_id:012d}.jpg": flat(value, "JPEG", (40, 60))
                                          for image_id, value in images.items()})
  info = {
      "images": [{"id": i, "file_name": f"{i:012d}.jpg"} for i in images],
      "annotations": [{"image_id": i, "category_id": c, "bbox": box} for i, c, box in annotations],
      "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 90, "name": "toothbrush"}],
  }
  return json.dumps(info)


def test_coco_boxes_become_single_label_crops(manual, prepare):
  big = [0.0, 0.0, 20.0, 20.0]
  train = [(1, 1, big), (2, 3, [10.5, 5.0, 30.0, 16.0]), (1, 90, [0, 0, 15.9, 30]), (2, 90, [50, 30, 40, 40])]
  train += [(1, 3, big)] * 8
  train_json = _coco(manual, "train", {1: 40, 2: 200}, train)
  val_json = _coco(manual, "val", {7: 120}, [(7, 90, big), (7, 1, [0, 0, 30, 10])])
  write_zip(manual / "annotations_trainval2017.zip", {"annotations/instances_train2017.json": train_json,
                                                      "annotations/instances_val2017.json": val_json})
  ds = prepare("coco_single_label")
  # the 16-px rule drops one train box (width 15.9) and one val box (height 10): 11 train, 1 test
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 11, "test": 1}))
  assert ds.labels("test") == [89]
  assert abs(ds.means("test")[0] - 120) < 3
  names = ds.class_names
  assert len(names) == 90 and names[0] == "person" and names[2] == "car" and names[1] == "unused_2"
  assert sorted(ds.labels("train", "dev", "dev_test")) == sorted([0, 2, 89] + [2] * 8)
