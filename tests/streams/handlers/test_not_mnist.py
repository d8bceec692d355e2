import io
import zipfile

import numpy as np

from nevis.store import Store
from nevis.streams import splits
from nevis.streams.prepare import NevisDataSource

SPLITS = ("train", "dev", "dev_test", "test")


def _png(value):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(np.full((28, 28), value, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def test_not_mnist_dedups_and_skips_unreadable(tmp_path, monkeypatch):

  manual = tmp_path / "manual"
  manual.mkdir()
  small = "notMNIST_small/notMNIST_small"
  with zipfile.ZipFile(manual / "notmnist.zip", "w") as archive:
    for k in range(4):
      archive.writestr(f"{small}/A/Rm9udEE{k}.png", _png(10 + k))
      archive.writestr(f"{small}/J/Rm9udEo{k}.png", _png(10 + k))  # same pixels as A's: other label, kept
    archive.writestr(f"{small}/A/Rm9udEE9.png", _png(10))  # repeats an A: dropped
    archive.writestr(f"{small}/A/RGVtb2NyYXRpY2FCb2xkT2xkc3R5bGUgQm9sZC50dGY=.png", b"")  # unreadable
    archive.writestr(f"{small}/F/Q3Jvc3NvdmVyIEJvbGRPYmxpcXVlLnR0Zg==.png", b"broken")
    archive.writestr("notMNIST_large/notMNIST_large/B/QQ.png", _png(99))  # other set: unused
  monkeypatch.setenv("NEVIS_DOWNLOAD_DIR", str(tmp_path / "downloads"))
  NevisDataSource("not_mnist", data_dir=str(tmp_path / "store"), image_size=8).prepare(manual_dir=str(manual))
  store = Store(tmp_path / "store", image_size=8)
  manifest = store.manifest("not_mnist")
  assert manifest["class_names"] == list("ABCDEFGHIJ")
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == splits.plan_sizes(
      splits.recipe_all({"all": 8}))
  labels = np.concatenate([store.read("not_mnist", s).labels for s in SPLITS])
  assert sorted(labels.tolist()) == [0] * 4 + [9] * 4
