import tarfile

from .h3_fixtures import add_to_tar, counts, grey, labels, manual_dir, prepare
from nevis.streams import splits


def test_trancos_counts_bucketed_and_image_sets_used(tmp_path, monkeypatch):
  from nevis.streams.handlers import trancos

  manual = manual_dir(tmp_path)
  # 20 images, image k has k vehicles (k = 0..19): two count values per bucket after the first
  names = [f"image-1-{k:06d}.jpg" for k in range(20)]
  with tarfile.open(manual / "TRANCOS_v3.tar.gz", "w:gz") as archive:
    for k, name in enumerate(names):
      add_to_tar(archive, f"TRANCOS_v3/images/{name}", grey(10 * k, (10, 14), "JPEG"))
      dots = "".join(f"{k} {k}\n" for _ in range(k)).encode()
      add_to_tar(archive, f"TRANCOS_v3/images/{name[:-3]}txt", dots)
      add_to_tar(archive, f"TRANCOS_v3/images/{name[:-4]}mask.mat", b"")
    add_to_tar(archive, "TRANCOS_v3/image_sets/training.txt", ("\n".join(names[:14]) + "\n").encode())
    add_to_tar(archive, "TRANCOS_v3/image_sets/validation.txt", ("\n".join(names[14:17]) + "\n").encode())
    add_to_tar(archive, "TRANCOS_v3/image_sets/test.txt", ("\n".join(names[17:]) + "\n").encode())
  store = prepare("trancos", trancos, tmp_path, monkeypatch)
  assert counts(store, "trancos") == splits.plan_sizes(
      splits.recipe_train_and_dev({"train": 14, "validation": 3, "test": 3}))
  # one image per count, two per bucket: count 0 alone, then pairs (1-2, ...), 17 and above the last
  assert labels(store, "trancos", "dev_test") == [7, 8, 8]  # counts 14, 15, 16
  assert labels(store, "trancos", "test") == [9, 9, 9]
