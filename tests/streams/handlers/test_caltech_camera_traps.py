import json
import tarfile

import numpy as np

from .h3_fixtures import add_to_tar, counts, grey, labels, manual_dir, means, prepare
from nevis.streams import splits


def _annotations(pairs):
  categories = [{"id": 1, "name": "opossum"}, {"id": 30, "name": "fox"}, {"id": 33, "name": "empty"}]
  return json.dumps({"categories": categories, "images": [{"id": i} for i, _ in pairs],
                     "annotations": [{"image_id": i, "category_id": c} for i, c in pairs]}).encode()


def test_caltech_camera_traps_unseen_locations_are_dev_test_and_test(tmp_path, monkeypatch):
  from nevis.streams.handlers import caltech_camera_traps

  manual = manual_dir(tmp_path)
  train_ids = [f"5968{k:04d}-23d2-11e8-a6a3-ec086b02610b" for k in range(10)]
  with tarfile.open(manual / "eccv_18_annotations.tar.gz", "w:gz") as archive:
    add_to_tar(archive, "eccv_18_annotation_files/train_annotations.json",
               _annotations([(i, 1) for i in train_ids[:5]] + [(i, 30) for i in train_ids[5:]]))
    add_to_tar(archive, "eccv_18_annotation_files/trans_val_annotations.json", _annotations([("val0", 33)]))
    add_to_tar(archive, "eccv_18_annotation_files/trans_test_annotations.json",
               _annotations([("test0", 30), ("test1", 33), ("test1", 1)]))  # the last annotation wins
    add_to_tar(archive, "eccv_18_annotation_files/cis_test_annotations.json", _annotations([("cis0", 1)]))
  with tarfile.open(manual / "eccv_18_all_images_sm.tar.gz", "w:gz") as archive:
    add_to_tar(archive, "eccv_18_all_images_sm/test1.jpg", grey(200, fmt="JPEG"))
    for k, image_id in enumerate(train_ids):
      add_to_tar(archive, f"eccv_18_all_images_sm/{image_id}.jpg", grey(10 + k, fmt="JPEG"))
    add_to_tar(archive, "eccv_18_all_images_sm/val0.jpg", grey(150, fmt="JPEG"))
    add_to_tar(archive, "eccv_18_all_images_sm/cis0.jpg", grey(90, fmt="JPEG"))
    add_to_tar(archive, "eccv_18_all_images_sm/test0.jpg", grey(220, fmt="JPEG"))
  store = prepare("caltech_camera_traps", caltech_camera_traps, tmp_path, monkeypatch)
  plan = splits.recipe_train_and_dev({"train": 10, "validation": 1, "test": 2})
  assert counts(store, "caltech_camera_traps") == splits.plan_sizes(plan)
  train_labels = np.array([1] * 5 + [15] * 5)  # opossum is class 1, fox 15 in NEVIS's order
  assert labels(store, "caltech_camera_traps", "train") == train_labels[plan["train"][0][1]].tolist()
  assert labels(store, "caltech_camera_traps", "dev_test") == [2]  # empty
  assert labels(store, "caltech_camera_traps", "test") == [1, 15]  # archive order: test1, test0
  assert np.allclose(means(store, "caltech_camera_traps", "test"), [200, 220], atol=3)
