import json

import numpy as np

from nevis.streams import splits

from .kit import flat, write_tar


def _annotations(pairs):
  categories = [{"id": 1, "name": "opossum"}, {"id": 30, "name": "fox"}, {"id": 33, "name": "empty"}]
  return json.dumps({"categories": categories, "images": [{"id": i} for i, _ in pairs],
                     "annotations": [{"image_id": i, "category_id": c} for i, c in pairs]}).encode()


def test_caltech_camera_traps_unseen_locations_are_dev_test_and_test(manual, prepare):
  train_ids = [f"5968{k:04d}-23d2-11e8-a6a3-ec086b02610b" for k in range(10)]
  write_tar(manual / "eccv_18_annotations.tar.gz", {
      "eccv_18_annotation_files/train_annotations.json":
          _annotations([(i, 1) for i in train_ids[:5]] + [(i, 30) for i in train_ids[5:]]),
      "eccv_18_annotation_files/trans_val_annotations.json": _annotations([("val0", 33)]),
      "eccv_18_annotation_files/trans_test_annotations.json":
          _annotations([("test0", 30), ("test1", 33), ("test1", 1)]),  # the last annotation wins
      "eccv_18_annotation_files/cis_test_annotations.json": _annotations([("cis0", 1)]),
  })
  images = {"eccv_18_all_images_sm/test1.jpg": flat(200, "JPEG")}
  for k, image_id in enumerate(train_ids):
    images[f"eccv_18_all_images_sm/{image_id}.jpg"] = flat(10 + k, "JPEG")
  images["eccv_18_all_images_sm/val0.jpg"] = flat(150, "JPEG")
  images["eccv_18_all_images_sm/cis0.jpg"] = flat(90, "JPEG")
  images["eccv_18_all_images_sm/test0.jpg"] = flat(220, "JPEG")
  write_tar(manual / "eccv_18_all_images_sm.tar.gz", images)
  ds = prepare("caltech_camera_traps")
  plan = splits.recipe_train_and_dev({"train": 10, "validation": 1, "test": 2})
  assert ds.counts() == splits.plan_sizes(plan)
  train_labels = np.array([1] * 5 + [15] * 5)  # opossum is class 1, fox 15 in NEVIS's order
  assert ds.labels("train") == train_labels[plan["train"][0][1]].tolist()
  assert ds.labels("dev_test") == [2]  # empty
  assert ds.labels("test") == [1, 15]  # archive order: test1, test0
  assert np.allclose(ds.means("test"), [200, 220], atol=3)
