from nevis.streams import splits

from .kit import flat, level, write_zip


def test_cvc_muscima_official_partition_in_zip_member_order(manual, prepare):
  writer_label = {"w-23": 0, "w-01": 30, "w-27": 49}
  pages = [("w-23", "p002.png"), ("w-01", "p001.png"), ("w-23", "p001.png"), ("w-27", "p005.png"),
           ("w-01", "p003.png"), ("w-27", "p001.png")]
  # members deliberately not in sorted order: NEVIS reads them as the zip lists them
  members = {}
  for writer, page in pages:
    members[f"CVCMUSCIMA_WI/PNG_GT_Gray/{writer}/{page}"] = flat(level(writer_label[writer]), "PNG", (30, 20))
    members[f"CVCMUSCIMA_WI/PNG_GT_BW/{writer}/{page}"] = flat(255, "PNG", (30, 20))
  write_zip(manual / "CVCMUSCIMA_WI.zip", members)
  write_zip(manual / "Partitions_Set.zip", {
      "Partitions_Set/set_2_Independent/set_2_training_01.txt":
          "w-23/p002.png\nw-01/p001.png\nw-27/p005.png\nw-27/p001.png\n",
      "Partitions_Set/set_2_Independent/set_2_testing_01.txt": "w-23/p001.png\r\nw-01/p003.png\r\n",
      "Partitions_Set/set_1_Dependent/set_1_testing_01.txt": "w-23/p002.png\n",
  })
  ds = prepare("cvc_muscima")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 4, "test": 2}))
  assert ds.labels("test") == [0, 30]
  assert ds.class_names[30] == "w-01"
  ds.assert_levels_follow_labels()
