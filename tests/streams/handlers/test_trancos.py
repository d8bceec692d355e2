from nevis.streams import splits

from .kit import flat, write_tar


def test_trancos_counts_bucketed_and_image_sets_used(manual, prepare):
  # 20 images, image k has k vehicles (k = 0..19): two count values per bucket after the first
  names = [f"image-1-{k:06d}.jpg" for k in range(20)]
  members = {}
  for k, name in enumerate(names):
    members[f"TRANCOS_v3/images/{name}"] = flat(10 * k, "JPEG", (10, 14))
    members[f"TRANCOS_v3/images/{name[:-3]}txt"] = "".join(f"{k} {k}\n" for _ in range(k)).encode()
    members[f"TRANCOS_v3/images/{name[:-4]}mask.mat"] = b""
  members["TRANCOS_v3/image_sets/training.txt"] = ("\n".join(names[:14]) + "\n").encode()
  members["TRANCOS_v3/image_sets/validation.txt"] = ("\n".join(names[14:17]) + "\n").encode()
  members["TRANCOS_v3/image_sets/test.txt"] = ("\n".join(names[17:]) + "\n").encode()
  write_tar(manual / "TRANCOS_v3.tar.gz", members)
  ds = prepare("trancos")
  assert ds.counts() == splits.plan_sizes(splits.recipe_train_and_dev({"train": 14, "validation": 3, "test": 3}))
  # one image per count, two per bucket: count 0 alone, then pairs (1-2, ...), 17 and above the last
  assert ds.labels("dev_test") == [7, 8, 8]  # counts 14, 15, 16
  assert ds.labels("test") == [9, 9, 9]
