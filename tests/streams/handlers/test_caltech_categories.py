from nevis.streams import splits

from .kit import COLOUR, GREY, flat, tar_bytes, write_zip


def test_caltech_cars_vs_motorbikes_from_nested_tars(manual, prepare):
  sources = {
      "Cars_1999.zip": ("Cars_1999/cars_markus.tar", 30, 2),
      "Cars_2001.zip": ("Cars_2001/cars_brad.tar", 60, 3),
      "motorbikes_side.zip": ("motorbikes_side/motorbikes_side.tar", 90, 4),
  }
  for zip_name, (tar_path, value, count) in sources.items():
    members = {f"image_{k:04d}.jpg": flat(value, "JPEG", COLOUR if k else GREY) for k in range(count)}
    members["README"] = b"text"
    members["ground_truth.mat"] = b"matlab"
    write_zip(manual / zip_name, {tar_path: tar_bytes(members)})
  ds = prepare("caltech_categories")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert ds.pairs() == [(30, 0)] * 2 + [(60, 0)] * 3 + [(90, 1)] * 4
