import math

import numpy as np

from .kit import flat, write_zip


def _rotation(yaw, pitch, roll):
  """R = R_x(roll) R_y(pitch) R_z(yaw): the matrix whose yaw/pitch/roll pyquaternion reports."""
  y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
  rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
  ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
  rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
  return rx @ ry @ rz


def _pose_txt(rotation):
  rows = "".join(" ".join(f"{v:.6f}" for v in row) + " \n" for row in rotation)
  return rows + "\n88.7665 -4.08406 878.874 \n"


def test_biwi_angles_to_rotation_matrices():
  from nevis.streams.handlers import biwi

  for angles in [(30.0, -20.0, 10.0), (-170.0, 60.0, -100.0), (5.0, 85.0, 179.0), (120.0, -5.0, -2.0)]:
    assert np.allclose(biwi.yaw_pitch_roll(_rotation(*angles)), angles, atol=1e-6)
  # the maximum falls in the last bin, not past it (NEVIS's loader patches that off-by-one)
  edges = biwi.equal_count_edges(list(range(10)))
  assert edges.tolist() == [0, 2, 4, 6, 8, 9]
  assert [biwi.bin_of(v, edges) for v in range(10)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_biwi_quantised_pose_split_by_subject(manual, prepare):
  # subjects 01 (test), 02 (dev), 03 (dev_test), 05 (train); rank r of 10 frames, all angles rising with r
  frames = [(subject, k) for subject in ("01", "02", "03", "05") for k in range(3)][:10]
  members = {"faces_0/readme.txt": "BIWI"}
  for rank, (subject, k) in enumerate(frames):
    stem = f"faces_0/{subject}/frame_{k:05d}"
    members[f"{stem}_pose.txt"] = _pose_txt(_rotation(10 * rank - 45, 3 * rank - 15, 2 * rank - 10))
    members[f"{stem}_rgb.png"] = flat(20 * rank, "PNG", (12, 16, 3))
    members[f"{stem}_depth.bin"] = b"\0" * 8
  members["faces_0/01/rgb.cal"] = "calibration"
  members["head_pose_masks/01/frame_00000_depth_mask.png"] = flat(1, "PNG", (12, 16, 3))
  write_zip(manual / "biwi-kinect-head-pose-database.zip", members)
  ds = prepare("biwi", checksums=True)  # Kaggle archives carry no checksum
  assert ds.counts() == {"train": 1, "dev": 3, "dev_test": 3, "test": 3}

  def active(split):
    return [np.flatnonzero(row).tolist() for row in ds.read(split).labels]

  # rank r -> bin min(r // 2, 4) for every angle: labels b, 5 + b, 10 + b
  assert active("test") == [[0, 5, 10], [0, 5, 10], [1, 6, 11]]  # ranks 0-2
  assert active("dev") == [[1, 6, 11], [2, 7, 12], [2, 7, 12]]  # ranks 3-5
  assert active("dev_test") == [[3, 8, 13], [3, 8, 13], [4, 9, 14]]  # ranks 6-8
  assert active("train") == [[4, 9, 14]]  # rank 9, the maximum
