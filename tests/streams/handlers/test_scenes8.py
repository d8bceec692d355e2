from nevis.streams import splits

from .kit import COLOUR, flat, write_zip


def test_scenes8_category_from_file_name(manual, prepare):
  folder = "spatial_envelope_256x256_static_8outdoorcategories"
  write_zip(manual / f"{folder}.zip", {f"{folder}/{category}_img{n}.jpg": flat(value, "JPEG", COLOUR)
                                       for category, value in (("coast", 30), ("highway", 90), ("tallbuilding", 150))
                                       for n in range(3)})
  ds = prepare("scenes8")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  # catalogue order: highway 0, tallbuilding 2, coast 7
  assert ds.pairs() == [(30, 7)] * 3 + [(90, 0)] * 3 + [(150, 2)] * 3
