import pytest

from nevis.streams import splits

from .kit import flat, handler_module, level, write_tar


def test_kth_tips_materials_from_folders_with_texture_crop(manual, prepare):
  from nevis.streams.handlers import kth_tips

  members = {"KTH_TIPS/README.txt": b"readme"}
  # sorted materials: aluminium_foil 0, linen 1, sponge 2
  for material, label, count in (("linen", 1, 3), ("aluminium_foil", 0, 2), ("sponge", 2, 1)):
    for k in range(count):
      members[f"KTH_TIPS/{material}/44-scale_{k}_im_1_col.png"] = flat(level(label), "PNG", (80, 90, 3))
  write_tar(manual / "kth_tips_col_200x200.tar", members, folders=True)
  ds = prepare("kth_tips")
  assert ds.class_names == ["aluminium_foil", "linen", "sponge"]
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert sorted(ds.labels()) == [0, 0, 1, 1, 1, 2]
  assert ds.manifest["provenance"]["image_rule"] == "texture_crop"
  assert kth_tips.material_of_path("KTH_TIPS/linen/44-scale_3_im_1_col.png") == "linen"


@pytest.mark.parametrize("dataset, archive", [("kth_tips_2a", "kth-tips2-a_col_200x200.tar"),
                                              ("kth_tips_2b", "kth-tips2-b_col_200x200.tar")])
def test_kth_tips_2_class_is_the_folder_above_the_sample(manual, prepare, dataset, archive):
  """KTH-TIPS2-a and -b, the same layout (kth_tips.kth_tips_handler) in two archives."""
  assert handler_module(dataset).HANDLER.artefacts[0].filename == archive
  members = {}
  # sorted materials: cork 0, wool 1; the sample_* folders are not classes
  for material, label in (("wool", 1), ("cork", 0)):
    for sample in ("sample_a", "sample_b"):
      members[f"KTH-TIPS2-{dataset[-1]}/{material}/{sample}/22{dataset[-1]}-scale_1_im_1_col.png"] = flat(
          level(label), "PNG", (70, 70, 3))
  write_tar(manual / archive, members, folders=True)
  ds = prepare(dataset)
  assert ds.class_names == ["cork", "wool"]
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 4}))
  assert sorted(ds.labels()) == [0, 0, 1, 1]
  ds.assert_levels_follow_labels()
