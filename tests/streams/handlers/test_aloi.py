from nevis.streams import splits

from .kit import COLOUR, flat, write_tar


def test_aloi_illumination_images_are_test(manual, prepare):
  codes = {"aloi_red4_col.tar": ("c1", "c2"), "aloi_red4_view.tar": ("r0", "r5", "r10"),
           "aloi_red4_ill.tar": ("l1c1", "l2c1")}
  for tar, view_codes in codes.items():
    write_tar(manual / tar, {f"png4/{obj}/{obj}_{code}.png": flat(value, "PNG", COLOUR)
                             for obj, value in ((1, 20), (1000, 220)) for code in view_codes})
  ds = prepare("aloi")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train({"train": 10, "test": 4}))
  assert len(ds.class_names) == 1000
  assert ds.pairs("test") == [(20, 0), (20, 0), (220, 999), (220, 999)]
