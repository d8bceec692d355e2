from .h2_fixtures import (all_labels, assert_levels_follow_labels, image_bytes, level, prepare, split_counts,
                         without_checksums, write_tar)
from nevis.streams import splits


def test_kth_tips_2a_class_is_the_folder_above_the_sample(tmp_path, monkeypatch):
  from nevis.streams.handlers import kth_tips_2a as handler_module

  manual = tmp_path / "manual"
  manual.mkdir()
  members = {}
  # sorted materials: cork 0, wool 1; the sample_* folders are not classes
  for material, label in (("wool", 1), ("cork", 0)):
    for sample in ("sample_a", "sample_b"):
      members[f"KTH-TIPS2-a/{material}/{sample}/22a-scale_1_im_1_col.png"] = image_bytes(
          level(label), shape=(70, 70, 3))
  write_tar(manual / handler_module.HANDLER.artefacts[0].filename, members)
  without_checksums(monkeypatch, handler_module)
  store = prepare("kth_tips_2a", tmp_path, manual)
  assert store.manifest("kth_tips_2a")["class_names"] == ["cork", "wool"]
  assert split_counts(store, "kth_tips_2a") == splits.plan_sizes(splits.recipe_all({"all": 4}))
  assert all_labels(store, "kth_tips_2a") == [0, 0, 1, 1]
  assert_levels_follow_labels(store, "kth_tips_2a")
  assert handler_module.HANDLER.artefacts[0].filename == "kth-tips2-a_col_200x200.tar"
