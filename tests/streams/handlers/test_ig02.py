import contextlib

from nevis.streams import splits

from .kit import COLOUR, flat, write_zip


def test_ig02_train_list_first_and_duplicates_dropped(manual, prepare):
  values = {"bikes": (10, 20, 30), "cars": (110, 120, 120), "people": (210,)}  # two cars are identical
  for class_name, class_values in values.items():
    members = {f"{class_name}_train.txt": b"img_002\n", f"{class_name}_test.txt": b"img_000\n"}
    for k, value in enumerate(class_values):
      members[f"{class_name}/img_{k:03d}.image.png"] = flat(value, "PNG", COLOUR)
      members[f"{class_name}/img_{k:03d}.mask.0.png"] = flat(0, "PNG", COLOUR)
    write_zip(manual / f"ig02-v1.0-{class_name}.zip", members)
  ds = prepare("ig02")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 6}))
  assert ds.pairs() == [(10, 0), (20, 0), (30, 0), (110, 1), (120, 1), (210, 2)]


def test_ig02_reading_order(manual):
  from nevis.streams.handlers import ig02 as handler

  for class_name in handler.CLASS_NAMES:
    members = {f"{class_name}_train.txt": b"b\n"}
    for name in ("a", "b"):
      members[f"{class_name}/{name}.image.png"] = flat(1, "PNG", COLOUR)
    write_zip(manual / f"ig02-v1.0-{class_name}.zip", members)
  paths = {a.filename: manual / a.filename for a in handler.HANDLER.artefacts}
  with contextlib.ExitStack() as stack:
    order = [name for _, name, _ in handler._candidates(handler._open_all(paths, stack))]
  assert order[:3] == ["bikes/b.image.png", "cars/b.image.png", "people/b.image.png"]
  assert order[3:5] == ["bikes/a.image.png", "bikes/b.image.png"]
