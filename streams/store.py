"""The prepared store: every dataset as fixed-size uint8 arrays plus a manifest.

Layout, one folder per storage resolution and dataset:

    <root>/<S>px/<dataset>/
        manifest.json               dataset, preparation version, image size, kind, class names,
                                    per-split counts, sha256 and size of every array, provenance
        <split>_images.npy          (N, S, S, 3) uint8
        <split>_labels.npy          (N,) int32, or (N, K) uint8 in {0, 1} for multi-label datasets

A dataset is written into a hidden temporary sibling folder and renamed into place only when complete, so a
half-prepared dataset is never visible; temporary folders left by killed writers are ignored and cleaned.
Reads are memory maps; every array's checksum is verified once per process before it is handed out.
"""
from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nevis.errors import DataError
from nevis.paths import file_in_the_way
from nevis.task import SPLITS, SplitData, TaskKind

DEFAULT_IMAGE_SIZE = 64
# Bump when the meaning of stored bytes changes (resizing, layout), so stale stores can be told apart.
PREPARATION_VERSION = 1
MANIFEST = "manifest.json"
_TMP_MARK = ".tmp."
# A temporary folder older than this is abandoned, whichever host wrote it.
_STALE_TMP_SECONDS = 24 * 3600

_verified: set[tuple[str, str]] = set()
_verified_lock = threading.Lock()


def default_root() -> Path:
  """$NEVIS_DATA_DIR if set, else the user's cache dir (e.g. ~/.cache/nevis/store)."""
  env = os.environ.get("NEVIS_DATA_DIR")
  if env:
    return Path(env).expanduser()
  import platformdirs

  return Path(platformdirs.user_cache_dir("nevis")) / "store"


def _fix(dataset: str) -> str:
  return f'run "nevis data prepare {dataset} --force"'


class Store:
  """Prepared datasets under `root` at one storage resolution `image_size`."""

  def __init__(self, root: str | Path | None = None, image_size: int = DEFAULT_IMAGE_SIZE):
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
      raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    self.root = Path(root).expanduser() if root is not None else default_root()
    self.image_size = image_size
    if file_in_the_way(self.root) is not None:
      name = "NEVIS_DATA_DIR (or the stream's data_dir)" if root is None else "the data_dir"
      raise DataError(f"the data store {str(self.root)!r} is not a folder; point {name} at a folder")

  def __repr__(self) -> str:
    return f"Store({str(self.root)!r}, image_size={self.image_size})"

  @property
  def resolution_dir(self) -> Path:
    return self.root / f"{self.image_size}px"

  def dataset_dir(self, dataset: str) -> Path:
    _check_dataset_name(dataset)
    return self.resolution_dir / dataset

  def datasets(self) -> list[str]:
    """Names of the dataset folders present (prepared or corrupt), temporary folders excluded."""
    if not self.resolution_dir.is_dir():
      return []
    return sorted(p.name for p in self.resolution_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

  # -- state ---------------------------------------------------------------------------------------

  def status(self, dataset: str) -> str:
    """'prepared', 'missing' or 'corrupt', from the manifest and file sizes only (no checksums)."""
    directory = self.dataset_dir(dataset)
    if not directory.exists():
      return "missing"
    try:
      manifest = self._load_manifest(directory)
    except DataError:
      return "corrupt"
    try:
      for name, entry in manifest["files"].items():
        path = directory / name
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
          return "corrupt"
    except (AttributeError, KeyError, TypeError):  # a manifest edited by hand
      return "corrupt"
    return "prepared"

  def manifest(self, dataset: str) -> dict:
    directory = self.dataset_dir(dataset)
    if not directory.exists():
      raise DataError(f"dataset {dataset!r} is not prepared in {self.resolution_dir}; {_fix(dataset)}")
    return self._load_manifest(directory)

  def split_sizes(self, dataset: str) -> dict[str, int]:
    """Examples per split from the manifest of a prepared dataset; {} when it is not prepared."""
    if self.status(dataset) != "prepared":
      return {}
    splits = self.manifest(dataset)["splits"]
    return {split: int(splits[split]["count"]) for split in SPLITS if split in splits}

  def size_bytes(self, dataset: str) -> int:
    directory = self.dataset_dir(dataset)
    if not directory.exists():
      return 0
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())

  def verify(self, dataset: str) -> None:
    """Checks the sha256 of every stored array against the manifest; raises DataError on a mismatch."""
    directory = self.dataset_dir(dataset)
    manifest = self.manifest(dataset)
    for name, entry in sorted(manifest["files"].items()):
      path = directory / name
      if not path.is_file():
        raise DataError(f"dataset {dataset!r}: file {path} is missing; {_fix(dataset)}")
      if path.stat().st_size != entry["bytes"]:
        raise DataError(
            f"dataset {dataset!r}: file {path} has {path.stat().st_size} bytes, the manifest says "
            f"{entry['bytes']} (truncated or overwritten); {_fix(dataset)}"
        )
      if _sha256(path) != entry["sha256"]:
        raise DataError(
            f"dataset {dataset!r}: file {path} does not match its checksum in the manifest (corrupt "
            f"on disk); {_fix(dataset)}"
        )
    with _verified_lock:
      _verified.add(_verification_key(directory, manifest))

  def delete(self, dataset: str) -> None:
    """Removes a dataset; readers see it vanish at once (it is renamed away before being deleted)."""
    directory = self.dataset_dir(dataset)
    if directory.exists():
      trash = self._temporary_dir(dataset, "trash")
      os.replace(directory, trash)
      shutil.rmtree(trash, ignore_errors=True)

  # -- reading -------------------------------------------------------------------------------------

  def read(self, dataset: str, split: str, *, verify: bool = True) -> SplitData:
    """One split as read-only memory maps; checksums are verified on the first read in this process."""
    if split not in SPLITS:
      raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    status = self.status(dataset)
    if status == "missing":
      raise DataError(f"dataset {dataset!r} is not prepared in {self.resolution_dir}; {_fix(dataset)}")
    if status == "corrupt":
      raise DataError(
          f"dataset {dataset!r} in {self.dataset_dir(dataset)} is corrupt (bad manifest or a file of the "
          f"wrong size); {_fix(dataset)}"
      )
    directory = self.dataset_dir(dataset)
    manifest = self._load_manifest(directory)
    if verify:
      with _verified_lock:
        known = _verification_key(directory, manifest) in _verified
      if not known:
        self.verify(dataset)
    if split not in manifest["splits"]:
      raise DataError(f"dataset {dataset!r} has no split {split!r}; {_fix(dataset)}")
    try:
      images = np.load(directory / f"{split}_images.npy", mmap_mode="r", allow_pickle=False)
      labels = np.load(directory / f"{split}_labels.npy", mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
      raise DataError(f"dataset {dataset!r}: cannot read split {split!r} ({e}); {_fix(dataset)}") from e
    return SplitData(images, labels)

  # -- writing -------------------------------------------------------------------------------------

  def write(
      self,
      dataset: str,
      splits: Mapping[str, SplitData],
      *,
      class_names: Sequence[str],
      kind: TaskKind | str,
      provenance: Mapping,
  ) -> Path:
    """Stores a dataset atomically, replacing any previous version; returns its folder.

    Images must already be (N, S, S, 3) uint8 (see `nevis.streams.images.resize_images`). `provenance`
    should hold `source` and `source_checksums`; the preparation date and nevis version are added here.
    """
    kind = TaskKind(kind)
    class_names = [str(c) for c in class_names]
    if not class_names:
      raise ValueError(f"dataset {dataset!r}: class_names is empty")
    if len(set(class_names)) != len(class_names):
      raise ValueError(f"dataset {dataset!r}: class_names has duplicates")
    if set(splits) != set(SPLITS):
      raise ValueError(f"dataset {dataset!r}: splits must be exactly {SPLITS}, got {sorted(splits)}")
    arrays = {}
    for split in SPLITS:
      images, labels = self._validated(dataset, split, splits[split], len(class_names), kind)
      arrays[f"{split}_images.npy"] = images
      arrays[f"{split}_labels.npy"] = labels

    final = self.dataset_dir(dataset)
    self.resolution_dir.mkdir(parents=True, exist_ok=True)
    self._clean_abandoned(dataset)
    staging = self._temporary_dir(dataset, "write")
    try:
      staging.mkdir()
      files = {}
      for name, array in arrays.items():
        path = staging / name
        _save_array(path, array)
        files[name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
      manifest = {
          "dataset": dataset,
          "preparation_version": PREPARATION_VERSION,
          "image_size": self.image_size,
          "kind": kind.value,
          "class_names": class_names,
          "splits": {split: {"count": int(len(splits[split]))} for split in SPLITS},
          "files": files,
          "provenance": {
              **dict(provenance),
              "prepared_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "nevis_version": _nevis_version(),
          },
      }
      manifest_path = staging / MANIFEST
      manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
      _fsync_dir_files(staging)
      self._publish(staging, final, dataset)
    except BaseException:
      shutil.rmtree(staging, ignore_errors=True)
      raise
    return final

  def _validated(self, dataset: str, split: str, data: SplitData, num_classes: int, kind: TaskKind):
    size = self.image_size
    images = np.asarray(data.images)
    where = f"dataset {dataset!r} split {split!r}"
    if images.dtype != np.uint8 or images.shape[1:] != (size, size, 3):
      raise ValueError(
          f"{where}: images must be uint8 (N, {size}, {size}, 3), got {images.dtype} {images.shape}; "
          "call nevis.streams.images.resize_images first"
      )
    labels = np.asarray(data.labels)
    if kind == TaskKind.SINGLE_LABEL:
      if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
        raise ValueError(f"{where}: single-label labels must be integers of shape (N,), got {labels.dtype} "
                         f"{labels.shape}")
      if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{where}: labels span [{labels.min()}, {labels.max()}], outside [0, {num_classes})")
      labels = labels.astype(np.int32)
    else:
      if labels.ndim != 2 or labels.shape[1] != num_classes:
        raise ValueError(
            f"{where}: multi-label labels must have shape (N, {num_classes}), got {labels.shape}"
        )
      if labels.size and not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{where}: multi-label labels must be 0 or 1")
      labels = labels.astype(np.uint8)
    return np.ascontiguousarray(images), np.ascontiguousarray(labels)

  def _publish(self, staging: Path, final: Path, dataset: str) -> None:
    # The old version is renamed away first: between the two renames the dataset reads as missing,
    # never as a mix of old and new files.
    previous = None
    if final.exists():
      previous = self._temporary_dir(dataset, "old")
      os.replace(final, previous)
    try:
      os.replace(staging, final)
    except OSError:
      if final.exists():  # a concurrent writer published the same dataset first: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
      else:
        raise
    if previous is not None:
      shutil.rmtree(previous, ignore_errors=True)

  def _temporary_dir(self, dataset: str, purpose: str) -> Path:
    name = f".{dataset}{_TMP_MARK}{purpose}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    return self.resolution_dir / name

  def _clean_abandoned(self, dataset: str) -> None:
    """Removes temporary folders of `dataset` whose writer is dead (same host) or that are a day old."""
    prefix = f".{dataset}{_TMP_MARK}"
    host = socket.gethostname()
    for path in self.resolution_dir.glob(prefix + "*"):
      parts = path.name[len(prefix):].split(".")
      try:
        _, writer_host, pid = parts[0], ".".join(parts[1:-2]), int(parts[-2])
      except (ValueError, IndexError):
        continue
      try:
        old = time.time() - path.stat().st_mtime > _STALE_TMP_SECONDS
      except FileNotFoundError:
        continue
      if old or (writer_host == host and not _pid_alive(pid)):
        shutil.rmtree(path, ignore_errors=True)

  def _load_manifest(self, directory: Path) -> dict:
    dataset = directory.name
    path = directory / MANIFEST
    try:
      manifest = json.loads(path.read_text())
    except FileNotFoundError:
      raise DataError(f"dataset {dataset!r}: {path} is missing; {_fix(dataset)}") from None
    except (OSError, ValueError) as e:
      raise DataError(f"dataset {dataset!r}: {path} is unreadable ({e}); {_fix(dataset)}") from None
    required = ("dataset", "preparation_version", "image_size", "kind", "class_names", "splits", "files")
    if not isinstance(manifest, dict) or any(k not in manifest for k in required):
      raise DataError(f"dataset {dataset!r}: {path} lacks required fields; {_fix(dataset)}")
    if manifest["image_size"] != self.image_size:
      raise DataError(
          f"dataset {dataset!r}: {path} says image_size {manifest['image_size']}, but it sits in the "
          f"{self.image_size}px store; {_fix(dataset)}"
      )
    return manifest


def _check_dataset_name(dataset: str) -> None:
  bad = not dataset or dataset.startswith(".") or dataset != dataset.strip()
  if bad or "/" in dataset or "\\" in dataset:
    raise ValueError(f"invalid dataset name {dataset!r}")


def _save_array(path: Path, array: np.ndarray) -> None:
  with open(path, "wb") as f:
    np.save(f, array, allow_pickle=False)


def _fsync_dir_files(directory: Path) -> None:
  # Data must be on disk before the rename publishes it, or a power cut could expose empty files.
  for path in directory.iterdir():
    with open(path, "rb") as f:
      os.fsync(f.fileno())


def _sha256(path: Path) -> str:
  with open(path, "rb") as f:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _verification_key(directory: Path, manifest: dict) -> tuple[str, str]:
  # Size and modification time are part of the key, so a file changed after it was verified in this
  # process is verified again.
  stamps = []
  for name, entry in sorted(manifest["files"].items()):
    try:
      st = (directory / name).stat()
      stamps.append((name, entry["sha256"], st.st_size, st.st_mtime_ns))
    except FileNotFoundError:
      stamps.append((name, entry["sha256"], None, None))
  return str(directory.resolve()), json.dumps(stamps)


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _nevis_version() -> str:
  try:
    return importlib.metadata.version("nevis")
  except importlib.metadata.PackageNotFoundError:
    return "unknown"
