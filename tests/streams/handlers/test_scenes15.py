from nevis.streams import splits

from .kit import flat, write_zip


def test_scenes15(manual, prepare):
  members = {f"{category}/image_{k:04d}.jpg": flat(90, "JPEG", (20, 24))
             for category in ("MITcoast", "bedroom", "livingroom") for k in range(5)}
  write_zip(manual / "scene_categories.zip", members)
  ds = prepare("scenes15")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 15}))
  assert sorted(set(ds.labels())) == [4, 8, 14]  # MITcoast, bedroom, livingroom in NEVIS's order
