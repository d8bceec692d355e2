import numpy as np

from .kit import flat, write_zip


def _isic(manual, stem, csv_name, rows):
  members = {}
  for image_id, value, _, _ in rows:
    members[f"{stem}/{image_id}.jpg"] = flat(value, "JPEG", (20, 30, 3))
    members[f"{stem}/{image_id}_superpixels.png"] = flat(0, "PNG", (4, 4))
  write_zip(manual / f"{stem}.zip", members)
  lines = ["image_id,melanoma,seborrheic_keratosis"]
  lines += [f"{image_id},{m:.1f},{k:.1f}" for image_id, _, m, k in rows]
  (manual / csv_name).write_text("\n".join(lines) + "\n")


def test_melanoma_splits_like_nevis(manual, prepare):
  # CSV row i: image ISIC_000000i, grey value 20 * i; rows 0-3 melanoma, 4-6 keratosis, 7-9 nevus
  train_rows = [(f"ISIC_000000{i}", 20 * i, float(i < 4), float(4 <= i < 7)) for i in range(10)]
  _isic(manual, "ISIC-2017_Training_Data", "ISIC-2017_Training_Part3_GroundTruth.csv", train_rows)
  _isic(manual, "ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part3_GroundTruth.csv",
        [("ISIC_0001000", 5, 1.0, 0.0), ("ISIC_0001001", 5, 0.0, 0.0)])
  _isic(manual, "ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part3_GroundTruth.csv",
        [("ISIC_0002000", 7, 0.0, 1.0)])
  ds = prepare("melanoma")
  assert ds.counts() == {"train": 8, "dev": 2, "dev_test": 2, "test": 1}
  # default_rng(1).permutation(10) = [8, 4, 7, 0, 1, 2, 5, 9, 6, 3]: rows 6 and 3 are dev, in zip order
  assert ds.labels("dev") == [0, 1]  # row 3 melanoma, row 6 keratosis
  assert np.allclose(ds.means("dev"), [60, 120], atol=3)
  assert ds.labels("dev_test") == [0, 2]
  assert ds.labels("test") == [1]
