import io
import zipfile

import numpy as np
from scipy.io import savemat

from .h3_fixtures import counts, grey, labels, manual_dir, prepare
from nevis.streams.handlers._counting import count_buckets


def test_count_buckets_are_contiguous_and_about_equal():
  # counts 0..19 twice, 4 per bucket: the cut is where the cumulative count is strictly below 4k, so
  # bucket 0 is count 0 alone, then pairs (1-2, 3-4, ...), and bucket 9 takes 17 and above
  label_of_count, names = count_buckets(list(range(20)) * 2, 10, 30)
  assert label_of_count[:17] == [(c + 1) // 2 for c in range(17)]
  assert label_of_count[17:] == [9] * 13
  # dm_nevis's names: "<first>-<first count of the next bucket>"
  assert names[:2] == ["0-1", "2-3"] and names[-1] == "18-30" and len(names) == 10


def test_mall_first_800_frames_split_rest_test(tmp_path, monkeypatch):
  from nevis.streams.handlers import mall

  manual = manual_dir(tmp_path)
  frame_counts = np.arange(2000) % 40 + 10  # 10..49, each 50 times: buckets of 4 count values
  gt = io.BytesIO()
  savemat(gt, {"count": frame_counts.reshape(-1, 1).astype(float), "frame": np.zeros((1, 1))})
  frames = [3, 1, 801, 2000, 17]
  with zipfile.ZipFile(manual / "mall_dataset.zip", "w") as archive:
    archive.writestr("mall_dataset/mall_gt.mat", gt.getvalue())
    for f in frames:
      archive.writestr(f"mall_dataset/frames/seq_{f:06d}.jpg", grey(f % 250, (12, 16), "JPEG"))
    archive.writestr("mall_dataset/perspective_roi.mat", b"")
  store = prepare("mall", mall, tmp_path, monkeypatch)
  split_of = mall.split_of_frames(2000)
  expected = {s: sum(split_of[f] == s for f in frames) for s in ("train", "dev", "dev_test", "test")}
  assert counts(store, "mall") == expected and expected["test"] == 2
  # counts 10-12 are bucket 0, then 4 values per bucket, 45-49 bucket 9:
  # frame 801 (count 10) is bucket 0, frame 2000 (count 49) bucket 9
  assert labels(store, "mall", "test") == [0, 9]
  assert store.manifest("mall")["class_names"][0] == "0-13"
