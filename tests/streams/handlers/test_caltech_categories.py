import io

from .h1_archives import (
    colour, counts, encoded, grey, prepare, value_label_pairs, without_checksums, write_zip,
)
from nevis.streams import splits


def _tar_bytes(members):
  import tarfile

  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w") as archive:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def test_caltech_cars_vs_motorbikes_from_nested_tars(manual, store_root, monkeypatch):
  from nevis.streams.handlers import caltech_categories as handler

  sources = {
      "Cars_1999.zip": ("Cars_1999/cars_markus.tar", 30, 2),
      "Cars_2001.zip": ("Cars_2001/cars_brad.tar", 60, 3),
      "motorbikes_side.zip": ("motorbikes_side/motorbikes_side.tar", 90, 4),
  }
  for zip_name, (tar_path, value, count) in sources.items():
    members = {f"image_{k:04d}.jpg": encoded(colour(value) if k else grey(value), "JPEG", quality=95)
               for k in range(count)}
    members["README"] = b"text"
    members["ground_truth.mat"] = b"matlab"
    write_zip(manual / zip_name, {tar_path: _tar_bytes(members)})
  without_checksums(monkeypatch, handler)
  store = prepare("caltech_categories", store_root, manual)
  assert counts(store, "caltech_categories") == splits.plan_sizes(splits.recipe_all({"all": 9}))
  assert value_label_pairs(store, "caltech_categories") == [(30, 0)] * 2 + [(60, 0)] * 3 + [(90, 1)] * 4
