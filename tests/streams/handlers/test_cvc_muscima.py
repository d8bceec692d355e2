import zipfile

from .h2_fixtures import (assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums)
from nevis.streams import splits


def test_cvc_muscima_official_partition_in_zip_member_order(tmp_path, monkeypatch):
  from nevis.streams.handlers import cvc_muscima

  manual = tmp_path / "manual"
  manual.mkdir()
  writer_label = {"w-23": 0, "w-01": 30, "w-27": 49}
  pages = [("w-23", "p002.png"), ("w-01", "p001.png"), ("w-23", "p001.png"), ("w-27", "p005.png"),
           ("w-01", "p003.png"), ("w-27", "p001.png")]
  # members deliberately not in sorted order: NEVIS reads them as the zip lists them
  with zipfile.ZipFile(manual / "CVCMUSCIMA_WI.zip", "w") as archive:
    for writer, page in pages:
      archive.writestr(f"CVCMUSCIMA_WI/PNG_GT_Gray/{writer}/{page}",
                       image_bytes(level(writer_label[writer]), shape=(30, 20)))
      archive.writestr(f"CVCMUSCIMA_WI/PNG_GT_BW/{writer}/{page}", image_bytes(255, shape=(30, 20)))
  with zipfile.ZipFile(manual / "Partitions_Set.zip", "w") as archive:
    archive.writestr("Partitions_Set/set_2_Independent/set_2_training_01.txt",
                     "w-23/p002.png\nw-01/p001.png\nw-27/p005.png\nw-27/p001.png\n")
    archive.writestr("Partitions_Set/set_2_Independent/set_2_testing_01.txt",
                     "w-23/p001.png\r\nw-01/p003.png\r\n")
    archive.writestr("Partitions_Set/set_1_Dependent/set_1_testing_01.txt", "w-23/p002.png\n")
  without_checksums(monkeypatch, cvc_muscima)
  store = prepare("cvc_muscima", tmp_path, manual)
  assert split_counts(store, "cvc_muscima") == splits.plan_sizes(splits.recipe_train({"train": 4, "test": 2}))
  assert store.read("cvc_muscima", "test").labels.tolist() == [0, 30]
  assert store.manifest("cvc_muscima")["class_names"][30] == "w-01"
  assert_levels_follow_labels(store, "cvc_muscima")
