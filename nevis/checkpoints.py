"""Checkpoints of learner state, between tasks and inside long training tasks (orbax).

State must be a pytree of dicts, lists, arrays and scalars; it is restored without a target, so tuples
come back as lists. Orbax writes into a temporary folder and renames it, so a checkpoint is whole or
absent. Orbax's cost is per leaf, so a tree goes to it packed (`nevis.tree_packing`): its structure and
numbers as one JSON string, its small arrays end to end, one array per dtype.

`BackgroundSave` writes and reads back a checkpoint on a thread of its own, so that the runner can score the
learner meanwhile; `as_restored` gives, in memory, the tree that reading the checkpoint back will give, and
`identical` checks that it did (type, dtype, placement and bits of every leaf).
"""
from __future__ import annotations

import errno
import io
import logging
import math
import shutil
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, Iterator

import jax
import numpy as np
import orbax.checkpoint as ocp

from nevis import guard, tree_packing
from nevis.errors import UserError
from nevis.meter import ComputeMeter, MeterTotals, meter_of
from nevis.protocol import CheckpointHook


class CheckpointError(UserError):
  """A checkpoint that is missing or cannot be read back."""

_checkpointer = None


def _ckpt() -> ocp.PyTreeCheckpointer:
  global _checkpointer
  if _checkpointer is None:
    _checkpointer = ocp.PyTreeCheckpointer()
  return _checkpointer


def save_tree(path: Path, tree: Any) -> None:
  path = Path(path).absolute()
  if path.exists():
    shutil.rmtree(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  _check_space(path, tree)
  threads = set(threading.enumerate())
  try:
    if jax.process_count() > 1:
      _save_own(path, tree)
    else:
      _ckpt().save(path, tree_packing.pack(tree))
  except BaseException:
    _after_failed_save(path, threads)
    raise


# One run over many processes (nevis.distributed): each process records its own workdir, but orbax writes
# NumPy values only from process 0 and each process's own arrays only as parts of global arrays. There each
# process writes its state itself, as one msgpack file (flax.serialization) in the checkpoint's folder.
OWN_FILE = "tree.msgpack"


def _save_own(path: Path, tree: Any) -> None:
  import os
  import tempfile

  from flax import serialization

  staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))  # cleaned if left
  with open(staging / OWN_FILE, "wb") as f:
    f.write(serialization.msgpack_serialize({"tree": jax.device_get(tree)}))
    f.flush()
    os.fsync(f.fileno())
  os.replace(staging, path)


def _check_space(path: Path, tree: Any) -> None:
  """ENOSPC before orbax starts, when the disk clearly cannot hold the checkpoint: orbax's writer threads
  report a full disk many times over, on stderr, for a while after the save has failed."""
  leaves = jax.tree_util.tree_leaves(tree)
  # The data, about 2 KiB of metadata per array, and room for orbax's fixed files (measured: ~40 KiB).
  need = sum(int(getattr(leaf, "nbytes", 64)) for leaf in leaves) + 2048 * len(leaves) + 256 * 1024
  free = shutil.disk_usage(path.parent).free
  if free < need:
    raise OSError(errno.ENOSPC, f"No space left on device ({free} bytes free, the checkpoint needs about {need})",
                  str(path))


def _after_failed_save(path: Path, threads: set) -> None:
  """A save that failed (a full disk): orbax's writer threads go on for a moment, logging and printing the
  same failure many times over; they are let finish quietly (the raised error is the one report), then
  the temporary sibling orbax was writing — all a failed save leaves — is removed."""
  absl_logger, stderr = logging.getLogger("absl"), sys.stderr
  level = absl_logger.level
  absl_logger.setLevel(logging.CRITICAL)
  sys.stderr = io.StringIO()
  try:
    for thread in set(threading.enumerate()) - threads:
      thread.join(timeout=60)
  finally:
    sys.stderr = stderr
    absl_logger.setLevel(level)
  for partial in path.parent.glob(f"{path.name}.orbax-checkpoint-tmp*"):
    shutil.rmtree(partial, ignore_errors=True)


def load_tree(path: Path) -> Any:
  """The saved tree; CheckpointError(what is wrong) when the checkpoint is missing or unreadable."""
  import warnings

  path = Path(path).absolute()
  if not path.is_dir():
    raise CheckpointError(f"{path} is missing")
  try:
    with warnings.catch_warnings():
      # Restoring without a target is what we want (state is plain pytrees on one host).
      warnings.filterwarnings("ignore", message="Sharding info not provided", category=UserWarning)
      if (path / OWN_FILE).is_file():
        from flax import serialization

        return serialization.msgpack_restore((path / OWN_FILE).read_bytes())["tree"]
      saved = _ckpt().restore(path)
      # Before trees were packed, they were written as {"tree": tree, "_": 0}.
      return tree_packing.unpack(saved) if tree_packing.is_packed(saved) else saved["tree"]
  except Exception as e:  # orbax and tensorstore raise many types for damaged files; all mean "unreadable"
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    raise CheckpointError(f"{path} is corrupt ({type(e).__name__}: {first})") from None


def unsaveable_leaf(tree: Any) -> str | None:
  """Where and what the first leaf is that a checkpoint cannot hold (None if the tree is saveable).

  Saveable: dicts, lists and tuples of arrays of numbers or booleans, JAX arrays (keys included),
  Python and NumPy numbers, booleans, strings and None.
  """
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  for path, leaf in leaves:
    where = "state" + jax.tree_util.keystr(path)
    if isinstance(leaf, jax.Array) or leaf is None or isinstance(leaf, (bool, float, complex, str)):
      continue
    if isinstance(leaf, int):
      if -2**63 <= leaf < 2**63:
        continue
      return f"{where} is an integer too large for 64 bits"
    if isinstance(leaf, np.generic) and leaf.dtype.kind == "b":
      return f"{where} is a NumPy bool scalar (use bool(...) or a NumPy array)"  # orbax has no handler for it
    if isinstance(leaf, (np.ndarray, np.generic)):
      if leaf.dtype.kind in "biufc":
        continue
      return f"{where} is an array of {leaf.dtype}"
    return f"{where} is a {type(leaf).__name__}"
  return None


class BackgroundSave:
  """`save_tree(path, tree)`, then with `read_back` `load_tree(path)`, on a thread of its own; `result()` waits
  and returns the tree as read back (None without `read_back`), or raises what the save or the read raised.

  The thread does harness work (`nevis.guard`): JAX transfers it makes are never charged to a learner call
  that runs meanwhile. Arrays are immutable and the tree's containers are not touched, so the caller may go
  on using `tree` while it is written."""

  def __init__(self, path: Path, tree: Any, *, read_back: bool = True):
    self.path, self._tree, self._read_back = Path(path), tree, read_back
    self._restored: Any = None
    self._error: BaseException | None = None
    self._thread = threading.Thread(target=self._run, name=f"nevis-save-{self.path.name}")
    self._thread.start()

  def _run(self) -> None:
    try:
      with guard.harness_work():
        save_tree(self.path, self._tree)
        if self._read_back:
          self._restored = load_tree(self.path)
    except BaseException as error:  # handed to the caller by result()
      self._error = error
    finally:
      self._tree = None

  def result(self) -> Any:
    self._thread.join()
    if self._error is not None:
      raise self._error
    return self._restored

  def wait(self) -> None:
    """Waits without raising: while another error is on its way up, the checkpoint is left whole or absent."""
    self._thread.join()


def as_restored(tree: Any) -> Any | None:
  """The tree that `load_tree` gives back after `save_tree(tree)`, made in memory, or None where this does
  not model orbax's round trip (typed PRNG keys, arrays over several devices, dicts with non-string keys).

  Orbax restores dicts in key order, tuples as lists (but an empty tuple as itself), NumPy scalars as Python
  numbers, NumPy arrays as NumPy arrays, and JAX arrays as new committed, strongly typed arrays on their
  device."""
  arrays: list[jax.Array] = []
  restored = _restored(tree, arrays)
  if restored is _UNMODELLED:
    return None
  # All arrays copied to the host in one transfer and back per device in one each, not leaf by leaf
  # (~0.3 ms a leaf; a ResNet's state has hundreds).
  copies = [None] * len(arrays)
  by_device: dict[Any, list[int]] = {}
  for i, array in enumerate(arrays):
    by_device.setdefault(next(iter(array.devices())), []).append(i)
  for device, positions in by_device.items():
    host = jax.device_get([arrays[i] for i in positions])
    for i, copy in zip(positions, jax.device_put([np.asarray(h) for h in host], device)):
      copies[i] = copy
  return _filled(restored, iter(copies))


_UNMODELLED = object()


def _filled(tree: Any, copies: Iterator[jax.Array]) -> Any:
  if isinstance(tree, dict):
    return {key: _filled(value, copies) for key, value in tree.items()}
  if isinstance(tree, list):
    return [_filled(item, copies) for item in tree]
  return next(copies) if tree is _ARRAY else tree


_ARRAY = object()  # where a JAX array goes in a tree being restored (`as_restored` copies them all at once)


def _restored(tree: Any, arrays: list) -> Any:
  """The restored tree with `_ARRAY` where each JAX array goes (appended to `arrays`, in tree order)."""
  if isinstance(tree, dict):
    if not all(isinstance(key, str) for key in tree):
      return _UNMODELLED
    items = {key: _restored(tree[key], arrays) for key in sorted(tree)}
    return _UNMODELLED if any(value is _UNMODELLED for value in items.values()) else items
  if isinstance(tree, (list, tuple)):
    if isinstance(tree, tuple) and not tree:
      return ()
    items = [_restored(item, arrays) for item in tree]
    return _UNMODELLED if any(item is _UNMODELLED for item in items) else items
  return _restored_leaf(tree, arrays)


def _restored_leaf(leaf: Any, arrays: list) -> Any:
  if isinstance(leaf, jax.Array):
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.extended) or len(leaf.devices()) != 1:
      return _UNMODELLED
    arrays.append(leaf)
    return _ARRAY
  if isinstance(leaf, np.ndarray):
    return leaf.copy()
  if isinstance(leaf, np.generic):
    return leaf.item() if leaf.dtype.kind in "iuf" else _UNMODELLED
  if leaf is None or isinstance(leaf, (bool, int, float, str)):
    return leaf
  return _UNMODELLED


def identical(a: Any, b: Any) -> bool:
  """Whether two trees are the same to the last detail a learner could see: container types and key order,
  leaf types, dtypes, shapes, weak types, placements and bits."""
  if type(a) is not type(b):
    return False
  if isinstance(a, dict):
    return list(a) == list(b) and all(identical(a[key], b[key]) for key in a)
  if isinstance(a, (list, tuple)):
    return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
  if isinstance(a, jax.Array):
    if (a.dtype, a.shape, a.weak_type, a.committed, a.sharding) != (b.dtype, b.shape, b.weak_type, b.committed,
                                                                     b.sharding):
      return False
    a, b = np.asarray(a), np.asarray(b)
  if isinstance(a, np.ndarray):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
  if isinstance(a, float):
    return a == b and math.copysign(1, a) == math.copysign(1, b) or (math.isnan(a) and math.isnan(b))
  return a == b


def latest(folder: Path, prefix: str) -> tuple[int, Path] | None:
  """The highest-numbered complete checkpoint `<prefix><n>` in `folder`."""
  found = []
  for p in Path(folder).glob(f"{prefix}*"):
    suffix = p.name[len(prefix):]
    if suffix.isdigit() and p.is_dir():
      found.append((int(suffix), p))
  return max(found) if found else None


# The meter of each hook, held for as long as the hook lives but not reachable from it (see nevis.meter).
_hook_meters: "weakref.WeakKeyDictionary[RunnerCheckpointHook, ComputeMeter]" = weakref.WeakKeyDictionary()


class RunnerCheckpointHook(CheckpointHook):
  """Within-task checkpoints in `folder`, every `every_steps` steps, with the meter's totals.

  The learner holds this hook, so it knows the meter only by number (see `nevis.meter`), and its work
  runs as the harness's, not charged to the learner."""

  def __init__(self, folder: Path, every_steps: int, meter: ComputeMeter, online=None):
    self.folder = Path(folder)
    self.every_steps = every_steps
    self._meter_key = meter.key
    _hook_meters[self] = meter
    self.online = online  # the online prequential recorder, whose scores must survive a crash too

  def due(self, step: int) -> bool:
    return self.every_steps > 0 and step > 0 and step % self.every_steps == 0

  def save(self, tree: Any) -> None:
    bad = unsaveable_leaf(tree)
    if bad is not None:
      from nevis.errors import LearnerError

      raise LearnerError(f"task.checkpoint.save got a tree it cannot hold: {bad}; save arrays, numbers and "
                         "strings in dicts and lists")
    with guard.harness_work():
      found = latest(self.folder, "ckpt_")
      n = found[0] + 1 if found else 0
      saved = {"learner": tree, "meter": meter_of(self._meter_key).totals.as_dict()}
      if self.online is not None:
        saved["online"] = self.online.state_dict()
      save_tree(self.folder / f"ckpt_{n}", saved)
      for old in self.folder.glob("ckpt_*"):
        if old.name != f"ckpt_{n}":
          shutil.rmtree(old, ignore_errors=True)

  def restore(self) -> Any | None:
    with guard.harness_work():
      found = latest(self.folder, "ckpt_")
      if found is None:
        return None
      try:
        saved = load_tree(found[1])
      except CheckpointError as e:
        task_dir = self.folder.parent
        raise CheckpointError(
            f"the in-task checkpoint {e}; delete {task_dir} to restart that task from its beginning, "
            "then run again with --resume"
        ) from None
      # FLOPs counted before this point in the interrupted attempt are in the snapshot already.
      meter_of(self._meter_key).totals = MeterTotals.from_dict(saved["meter"])
      if self.online is not None and "online" in saved:
        self.online.load_state_dict(saved["online"])
      return saved["learner"]
