import numpy as np

from nevis.streams import splits


def _write(path, images, labels):
  try:
    import h5py
  except ImportError:  # same arrays in an .npz under the .hdf5 name; read_file is patched to match
    with open(path, "wb") as f:
      np.savez(f, images=images, labels=labels)
    return
  with h5py.File(path, "w") as f:
    f.create_dataset("images", data=images)
    f.create_dataset("labels", data=labels)


def _read_npz(path):
  data = np.load(path)
  for image, label in zip(data["images"], data["labels"]):
    yield image, int(label)


def test_pacs_sketch_is_held_out_bgr_flipped_duplicates_dropped(manual, prepare, monkeypatch):
  from nevis.streams.handlers import pacs

  try:
    import h5py  # noqa: F401
  except ImportError:
    monkeypatch.setattr(pacs, "read_file", _read_npz)
  blue_bgr = np.zeros((10, 10, 3), np.uint8)
  blue_bgr[..., 0] = 240  # BGR: blue first
  for domain in pacs.FILES:
    for part in ("train", "val", "test"):
      n = 3 if domain == "sketch" else 2
      images = np.stack([np.full((10, 10, 3), 10 * (i + 1), np.uint8) for i in range(n)])
      if domain == "photo" and part == "train":
        images[0] = blue_bgr
      # labels 1-7; the art_painting files repeat each other (first copy kept)
      values = [1, 7, 3][:n] if domain != "art_painting" else [2, 2]
      _write(manual / f"{domain}_{part}.hdf5", images, np.array(values, dtype=np.uint8))
  ds = prepare("pacs")
  # art 6 -> 2 unique (grey 10 and 20, label 2); cartoon 6 -> 2 (its 3 files repeat); photo's greys
  # equal cartoon's (same pixels and labels) so only its blue image is new: dedup spans the domains
  train_count, sketch_count = 2 + 2 + 1, 3
  train = splits.multinomial_assignment(train_count, {"train": 0.8, "dev": 0.2})
  sketch = splits.multinomial_assignment(sketch_count, {"dev-test": 0.5, "test": 0.5})
  assert ds.counts() == {"train": int((train == "train").sum()), "dev": int((train == "dev").sum()),
                         "dev_test": int((sketch == "dev_test").sum()), "test": int((sketch == "test").sum())}
  assert sorted(ds.labels("train", "dev")) == sorted([1, 1, 0, 6, 0])  # art 1, 1; cartoon 0, 6; photo's blue 0
  together = np.concatenate([np.asarray(ds.read(s).images) for s in ("train", "dev")])
  blue = [img for img in together if img[..., 2].mean() > 200]
  assert len(blue) == 1 and blue[0][..., 0].mean() < 5  # stored as RGB: the blue channel is last
  assert sorted(ds.labels("dev_test", "test")) == [0, 2, 6]
