"""The prepared store: round trips, checksums, atomic writes, validation, resizing."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from nevis.errors import DataError
from nevis.streams import store as store_module
from nevis.streams.store import PREPARATION_VERSION, Store, default_root
from nevis.task import SPLITS, SplitData, TaskKind

SIZE = 8
COUNTS = {"train": 6, "dev": 2, "dev_test": 3, "test": 4}


def _splits(num_classes=3, multi_label=False, seed=0):
  rng = np.random.default_rng(seed)
  out = {}
  for split, n in COUNTS.items():
    images = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    if multi_label:
      labels = rng.integers(0, 2, (n, num_classes)).astype(np.uint8)
    else:
      labels = rng.integers(0, num_classes, n).astype(np.int64)
    out[split] = SplitData(images, labels)
  return out


PROVENANCE = {"source": "test", "source_checksums": {"archive.zip": "abc"}}


@pytest.fixture(autouse=True)
def _fresh_verification_cache():
  store_module._verified.clear()
  yield
  store_module._verified.clear()


@pytest.fixture
def store(tmp_path):
  return Store(tmp_path, image_size=SIZE)


def _write(store, dataset="toy", **kwargs):
  splits = kwargs.pop("splits", None) or _splits()
  store.write(dataset, splits, class_names=kwargs.pop("class_names", ("a", "b", "c")),
              kind=kwargs.pop("kind", TaskKind.SINGLE_LABEL), provenance=PROVENANCE)
  return splits


def test_round_trip_single_label(store, tmp_path):
  splits = _write(store)
  assert store.dataset_dir("toy") == tmp_path / "8px" / "toy"
  assert store.status("toy") == "prepared"
  assert store.datasets() == ["toy"]
  for split in SPLITS:
    data = store.read("toy", split)
    np.testing.assert_array_equal(data.images, splits[split].images)
    np.testing.assert_array_equal(data.labels, splits[split].labels)
    assert data.labels.dtype == np.int32 and data.images.dtype == np.uint8
    assert isinstance(data.images, np.memmap) and not data.images.flags.writeable

  manifest = store.manifest("toy")
  assert manifest["dataset"] == "toy"
  assert manifest["preparation_version"] == PREPARATION_VERSION
  assert manifest["image_size"] == SIZE
  assert manifest["kind"] == "single_label"
  assert manifest["class_names"] == ["a", "b", "c"]
  assert {s: manifest["splits"][s]["count"] for s in SPLITS} == COUNTS
  assert sorted(manifest["files"]) == sorted(f"{s}_{k}.npy" for s in SPLITS for k in ("images", "labels"))
  train_images = tmp_path / "8px" / "toy" / "train_images.npy"
  sha256 = hashlib.sha256(train_images.read_bytes()).hexdigest()
  assert manifest["files"]["train_images.npy"]["sha256"] == sha256
  provenance = manifest["provenance"]
  assert provenance["source"] == "test" and provenance["source_checksums"] == {"archive.zip": "abc"}
  assert provenance["nevis_version"] and provenance["prepared_at"]
  expected_bytes = sum(p.stat().st_size for p in (tmp_path / "8px" / "toy").iterdir())
  assert store.size_bytes("toy") == expected_bytes > 6 * SIZE * SIZE * 3
  assert store.size_bytes("absent") == 0


def test_round_trip_multi_label(store):
  splits = _write(store, splits=_splits(num_classes=4, multi_label=True), class_names=list("wxyz"),
                  kind="multi_label")
  data = store.read("toy", "dev_test")
  assert data.labels.dtype == np.uint8 and data.labels.shape == (3, 4)
  np.testing.assert_array_equal(data.labels, splits["dev_test"].labels)
  assert store.manifest("toy")["kind"] == "multi_label"


def test_flipped_byte_is_detected_by_verify_and_read(store, tmp_path):
  _write(store)
  path = tmp_path / "8px" / "toy" / "train_images.npy"
  raw = bytearray(path.read_bytes())
  raw[-1] ^= 0x01  # the last pixel, past the header
  path.write_bytes(bytes(raw))
  assert store.status("toy") == "prepared"  # same size: only checksums can tell
  with pytest.raises(DataError) as verify_error:
    store.verify("toy")
  message = str(verify_error.value)
  assert "'toy'" in message and "train_images.npy" in message and "nevis data prepare toy --force" in message
  with pytest.raises(DataError, match="train_images.npy"):
    store.read("toy", "test")  # any split: the dataset is verified as a whole
  assert store.read("toy", "test", verify=False).images.shape == (4, SIZE, SIZE, 3)


def test_checksums_are_verified_once_per_process(store, monkeypatch):
  _write(store)
  calls = []
  original = Store.verify
  monkeypatch.setattr(Store, "verify", lambda self, d: (calls.append(d), original(self, d)))
  for split in SPLITS:
    store.read("toy", split)
  Store(store.root, SIZE).read("toy", "train")
  assert calls == ["toy"]
  _write(store, splits=_splits(seed=1))  # new contents, new checksums: verified again
  store.read("toy", "train")
  assert calls == ["toy", "toy"]


def test_crash_mid_write_leaves_dataset_missing(store, tmp_path, monkeypatch):
  saved = []
  original = store_module._save_array

  def crash_on_third(path, array):
    if len(saved) == 2:
      raise KeyboardInterrupt("killed")
    saved.append(path)
    original(path, array)

  monkeypatch.setattr(store_module, "_save_array", crash_on_third)
  with pytest.raises(KeyboardInterrupt):
    _write(store)
  assert store.status("toy") == "missing"
  assert list((tmp_path / "8px").iterdir()) == []  # the staging folder was removed
  with pytest.raises(DataError, match="not prepared.*nevis data prepare toy --force"):
    store.read("toy", "train")


def test_failed_rewrite_keeps_previous_version(store, monkeypatch):
  first = _write(store)
  monkeypatch.setattr(store_module, "_fsync_dir_files", lambda d: (_ for _ in ()).throw(OSError("disk full")))
  with pytest.raises(OSError, match="disk full"):
    _write(store, splits=_splits(seed=1))
  assert store.status("toy") == "prepared"
  np.testing.assert_array_equal(store.read("toy", "train").images, first["train"].images)


def test_rewrite_replaces_dataset(store, tmp_path):
  _write(store)
  second = _write(store, splits=_splits(seed=1))
  np.testing.assert_array_equal(store.read("toy", "test").images, second["test"].images)
  assert [p.name for p in (tmp_path / "8px").iterdir()] == ["toy"]


def _dead_pid() -> int:
  process = subprocess.Popen([sys.executable, "-c", "pass"])
  process.wait()
  return process.pid


def test_leftover_temporary_folders_are_invisible_and_cleaned(store, tmp_path):
  _write(store, dataset="donor")
  host = socket.gethostname()
  dead = tmp_path / "8px" / f".toy.tmp.write.{host}.{_dead_pid()}.0000abcd"
  alive = tmp_path / "8px" / f".toy.tmp.write.{host}.{os.getpid()}.0000beef"
  for leftover in (dead, alive):  # complete-looking copies, as a writer killed just before its rename
    shutil.copytree(tmp_path / "8px" / "donor", leftover)
  assert store.status("toy") == "missing"
  assert store.datasets() == ["donor"]
  _write(store)
  assert store.status("toy") == "prepared"
  assert not dead.exists()  # its writer is gone
  assert alive.exists()  # its writer may still be running: left alone


def test_status_reports_corruption(store, tmp_path):
  _write(store)
  directory = tmp_path / "8px" / "toy"
  labels = directory / "dev_labels.npy"
  labels.write_bytes(labels.read_bytes()[:-4])
  assert store.status("toy") == "corrupt"
  with pytest.raises(DataError, match="corrupt.*nevis data prepare toy --force"):
    store.read("toy", "train")
  with pytest.raises(DataError, match="dev_labels.npy"):
    store.verify("toy")

  _write(store, dataset="toy2")
  (directory.parent / "toy2" / "manifest.json").write_text("{not json")
  assert store.status("toy2") == "corrupt"
  _write(store, dataset="toy3")
  (directory.parent / "toy3" / "test_images.npy").unlink()
  assert store.status("toy3") == "corrupt"


def test_manifest_of_another_resolution_is_corrupt(store, tmp_path):
  _write(store)
  path = tmp_path / "8px" / "toy" / "manifest.json"
  manifest = json.loads(path.read_text())
  manifest["image_size"] = 16
  path.write_text(json.dumps(manifest))
  assert store.status("toy") == "corrupt"


def test_delete(store):
  _write(store)
  store.delete("toy")
  assert store.status("toy") == "missing" and store.datasets() == []


def _replace(split, images, labels):
  return lambda splits: splits.update({split: SplitData(images, labels)})


@pytest.mark.parametrize(
    "change, match",
    [
        (_replace("train", np.zeros((2, 9, 9, 3), np.uint8), np.zeros(2, int)), "resize_images"),
        (_replace("train", np.zeros((2, SIZE, SIZE, 1), np.uint8), np.zeros(2, int)), "resize_images"),
        (_replace("dev", np.zeros((2, SIZE, SIZE, 3), np.uint8), np.array([0, 3])), r"\[0, 3\]"),
        (_replace("dev", np.zeros((2, SIZE, SIZE, 3), np.uint8), np.array([0, -1])), "outside"),
        (_replace("dev", np.zeros((2, SIZE, SIZE, 3), np.uint8), np.array([0.0, 1.0])), "integers"),
        (lambda splits: splits.pop("dev_test"), "splits must be exactly"),
    ],
)
def test_write_validates_shapes_and_labels(store, change, match):
  splits = _splits()
  change(splits)
  with pytest.raises(ValueError, match=match):
    _write(store, splits=splits)
  assert store.status("toy") == "missing"


def test_write_validates_multi_label_values_and_class_names(store):
  splits = _splits(num_classes=2, multi_label=True)
  bad = splits["test"].labels.copy()
  bad[0, 0] = 2
  splits["test"] = SplitData(splits["test"].images, bad)
  with pytest.raises(ValueError, match="0 or 1"):
    _write(store, splits=splits, class_names=("x", "y"), kind=TaskKind.MULTI_LABEL)
  with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
    _write(store, splits=_splits(num_classes=2, multi_label=True), kind=TaskKind.MULTI_LABEL)
  with pytest.raises(ValueError, match="duplicates"):
    _write(store, class_names=("a", "a", "b"))


def test_unknown_split_and_missing_dataset(store):
  _write(store)
  with pytest.raises(ValueError, match="unknown split"):
    store.read("toy", "validation")
  with pytest.raises(DataError, match="'other' is not prepared"):
    store.manifest("other")


def test_default_root_follows_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path / "data"))
  assert default_root() == tmp_path / "data"
  assert Store().root == tmp_path / "data" and Store().image_size == 64
  monkeypatch.delenv("NEVIS_DATA_DIR")
  import platformdirs

  assert default_root() == __import__("pathlib").Path(platformdirs.user_cache_dir("nevis")) / "store"
