from .h1_archives import colour, counts, encoded, prepare, value_label_pairs, without_checksums, write_zip
from nevis.streams import splits


def test_scenes8_category_from_file_name(manual, store_root, monkeypatch):
  from nevis.streams.handlers import scenes8 as handler

  members = {}
  for category, value in (("coast", 30), ("highway", 90), ("tallbuilding", 150)):
    for n in range(3):
      members[f"spatial_envelope_256x256_static_8outdoorcategories/{category}_img{n}.jpg"] = encoded(
          colour(value), "JPEG", quality=95)
  write_zip(manual / "spatial_envelope_256x256_static_8outdoorcategories.zip", members)
  without_checksums(monkeypatch, handler)
  store = prepare("scenes8", store_root, manual)
  assert counts(store, "scenes8") == splits.plan_sizes(splits.recipe_all({"all": 9}))
  # catalogue order: highway 0, tallbuilding 2, coast 7
  assert value_label_pairs(store, "scenes8") == [(30, 7)] * 3 + [(90, 0)] * 3 + [(150, 2)] * 3
