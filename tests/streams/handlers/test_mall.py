import io

import numpy as np
from scipy.io import savemat

from nevis.streams.handlers._counting import count_buckets
from nevis.task import SPLITS

from .kit import flat, write_zip


def test_count_buckets_are_contiguous_and_about_equal():
  # counts 0..19 twice, 4 per bucket: the cut is where the cumulative count is strictly below 4k, so
  # bucket 0 is count 0 alone, then pairs (1-2, 3-4, ...), and bucket 9 takes 17 and above
  label_of_count, names = count_buckets(list(range(20)) * 2, 10, 30)
  assert label_of_count[:17] == [(c + 1) // 2 for c in range(17)]
  assert label_of_count[17:] == [9] * 13
  # dm_nevis's names: "<first>-<first count of the next bucket>"
  assert names[:2] == ["0-1", "2-3"] and names[-1] == "18-30" and len(names) == 10


def test_mall_first_800_frames_split_rest_test(manual, prepare):
  from nevis.streams.handlers import mall

  frame_counts = np.arange(2000) % 40 + 10  # 10..49, each 50 times: buckets of 4 count values
  gt = io.BytesIO()
  savemat(gt, {"count": frame_counts.reshape(-1, 1).astype(float), "frame": np.zeros((1, 1))})
  frames = [3, 1, 801, 2000, 17]
  members = {"mall_dataset/mall_gt.mat": gt.getvalue()}
  for f in frames:
    members[f"mall_dataset/frames/seq_{f:06d}.jpg"] = flat(f % 250, "JPEG", (12, 16))
  members["mall_dataset/perspective_roi.mat"] = b""
  write_zip(manual / "mall_dataset.zip", members)
  ds = prepare("mall")
  split_of = mall.split_of_frames(2000)
  expected = {s: sum(split_of[f] == s for f in frames) for s in SPLITS}
  assert ds.counts() == expected and expected["test"] == 2
  # counts 10-12 are bucket 0, then 4 values per bucket, 45-49 bucket 9:
  # frame 801 (count 10) is bucket 0, frame 2000 (count 49) bucket 9
  assert ds.labels("test") == [0, 9]
  assert ds.class_names[0] == "0-13"
