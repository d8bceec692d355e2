from .h2_fixtures import all_labels, image_bytes, level, prepare, split_counts, without_checksums, write_tar
from nevis.streams import splits


def test_kth_tips_materials_from_folders_with_texture_crop(tmp_path, monkeypatch):
  from nevis.streams.handlers import kth_tips

  manual = tmp_path / "manual"
  manual.mkdir()
  members = {"KTH_TIPS/README.txt": b"readme"}
  # sorted materials: aluminium_foil 0, linen 1, sponge 2
  for material, label, count in (("linen", 1, 3), ("aluminium_foil", 0, 2), ("sponge", 2, 1)):
    for k in range(count):
      members[f"KTH_TIPS/{material}/44-scale_{k}_im_1_col.png"] = image_bytes(level(label), shape=(80, 90, 3))
  write_tar(manual / "kth_tips_col_200x200.tar", members)
  without_checksums(monkeypatch, kth_tips)
  store = prepare("kth_tips", tmp_path, manual)
  assert store.manifest("kth_tips")["class_names"] == ["aluminium_foil", "linen", "sponge"]
  assert split_counts(store, "kth_tips") == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert all_labels(store, "kth_tips") == [0, 0, 1, 1, 1, 2]
  assert store.manifest("kth_tips")["provenance"]["image_rule"] == "texture_crop"
  assert kth_tips.material_of_path("KTH_TIPS/linen/44-scale_3_im_1_col.png") == "linen"
