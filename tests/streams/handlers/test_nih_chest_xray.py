import numpy as np

from nevis.streams import splits

from .kit import flat, write_zip


def test_nih_multi_hot_findings_and_official_lists(manual, prepare):
  findings = {
      "00000001_000.png": "Cardiomegaly", "00000001_001.png": "Cardiomegaly|Emphysema",
      "00000002_000.png": "No Finding", "00000003_000.png": "Hernia|Mass|Nodule",
      "00000003_001.png": "Atelectasis", "00000004_000.png": "No Finding", "00000005_000.png": "Effusion",
  }
  train = ["00000001_000.png", "00000001_001.png", "00000002_000.png", "00000004_000.png", "00000005_000.png"]
  test = ["00000003_000.png", "00000003_001.png"]
  header = "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position\n"
  members = {
      "Data_Entry_2017.csv": header + "".join(f"{n},{f},0,1,58,M,PA\n" for n, f in findings.items()),
      "train_val_list.txt": "\n".join(train) + "\n",
      "test_list.txt": "\n".join(test) + "\n",
      "FAQ_CHESTXRAY.pdf": b"%PDF",
  }
  for k, name in enumerate(sorted(findings)):
    members[f"images_{1 + k // 4:03d}/images/{name}"] = flat(30 * k, "PNG", (16, 16))
  write_zip(manual / "data.zip", members)
  ds = prepare("nih_chest_xray", checksums=True)  # Kaggle archives carry no checksum
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 5, "test": 2}))
  test_labels = ds.read("test").labels
  assert test_labels.shape == (2, 15)
  assert [np.flatnonzero(row).tolist() for row in test_labels] == [[11, 12, 13], [0]]
  seen = ds.labels("train", "dev", "dev_test")
  assert sorted(np.flatnonzero(row).tolist() for row in seen) == [[5, 10], [7], [10], [14], [14]]
