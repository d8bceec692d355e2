import numpy as np

from nevis.streams import splits
from nevis.task import SPLITS

from .kit import encode, write_tar

ROOT = "VOCdevkit/VOC2012"


def _xml(objects):
  body = ""
  for box, flags in objects:
    actions = "".join(f"<{a}>{v}</{a}>" for a, v in flags.items())
    body += (f"<object><name>person</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin>"
             f"<xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox><actions>{actions}</actions></object>")
  return f"<annotation><filename>x.jpg</filename>{body}</annotation>".encode()


def test_voc_actions_crops_each_person_with_its_actions(manual, prepare):
  image = np.zeros((40, 60, 3), np.uint8)
  image[:, 30:] = 200  # right half bright
  write_tar(manual / "VOCtrainval_11-May-2012.tar", {
      f"{ROOT}/ImageSets/Action/jumping_trainval.txt": b"2011_000002  1  1\n2010_000001  1 -1\n",
      f"{ROOT}/ImageSets/Action/walking_trainval.txt": b"2010_000001  2  1\n",
      f"{ROOT}/Annotations/2010_000001.xml": _xml([
          ((0, 0, 20, 20), {"jumping": 0, "walking": 0, "other": 1}),
          ((35, 5, 59.5, 39), {"jumping": 0, "walking": 1, "running": 1})]),
      f"{ROOT}/JPEGImages/2010_000001.jpg": encode(image, "JPEG"),
      f"{ROOT}/Annotations/2011_000002.xml": _xml([((30, 0, 60, 40), {"jumping": 1})]),
      f"{ROOT}/JPEGImages/2011_000002.jpg": encode(image, "JPEG"),
      # an image of no action list
      f"{ROOT}/JPEGImages/2009_000001.jpg": encode(image, "JPEG"),
  })
  ds = prepare("voc_actions")
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 3}))
  every = np.array(ds.labels())
  assert every.shape == (3, 11)
  brightness = np.concatenate([ds.means(s) for s in SPLITS])
  # the "other" person's box is in the dark left half; the others are in the bright right half
  rows = sorted((tuple(np.flatnonzero(r).tolist()), bool(b > 150)) for r, b in zip(every, brightness))
  assert rows == sorted([((10,), False), ((6, 9), True), ((0,), True)])
