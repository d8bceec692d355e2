"""Checkpoints of learner state, between tasks and inside long training tasks (orbax).

State must be a pytree of dicts, lists, arrays and scalars; it is restored without a target, so tuples
come back as lists. Orbax writes into a temporary folder and renames it, so a checkpoint is whole or
absent.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp

from nevis.meter import ComputeMeter, MeterTotals
from nevis.protocol import CheckpointHook

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
  # Orbax refuses empty containers at the top level; wrap so every state is saveable.
  _ckpt().save(path, {"tree": tree, "_": 0})


def load_tree(path: Path) -> Any:
  import warnings

  with warnings.catch_warnings():
    # Restoring without a target is what we want (state is plain pytrees on one host).
    warnings.filterwarnings("ignore", message="Sharding info not provided", category=UserWarning)
    return _ckpt().restore(Path(path).absolute())["tree"]


def latest(folder: Path, prefix: str) -> tuple[int, Path] | None:
  """The highest-numbered complete checkpoint `<prefix><n>` in `folder`."""
  found = []
  for p in Path(folder).glob(f"{prefix}*"):
    suffix = p.name[len(prefix):]
    if suffix.isdigit() and p.is_dir():
      found.append((int(suffix), p))
  return max(found) if found else None


class RunnerCheckpointHook(CheckpointHook):
  """Within-task checkpoints in `folder`, every `every_steps` steps, with the meter's totals."""

  def __init__(self, folder: Path, every_steps: int, meter: ComputeMeter, online=None):
    self.folder = Path(folder)
    self.every_steps = every_steps
    self.meter = meter
    self.online = online  # the online prequential recorder, whose scores must survive a crash too

  def due(self, step: int) -> bool:
    return self.every_steps > 0 and step > 0 and step % self.every_steps == 0

  def save(self, tree: Any) -> None:
    found = latest(self.folder, "ckpt_")
    n = found[0] + 1 if found else 0
    saved = {"learner": tree, "meter": self.meter.totals.as_dict()}
    if self.online is not None:
      saved["online"] = self.online.state_dict()
    save_tree(self.folder / f"ckpt_{n}", saved)
    for old in self.folder.glob("ckpt_*"):
      if old.name != f"ckpt_{n}":
        shutil.rmtree(old, ignore_errors=True)

  def restore(self) -> Any | None:
    found = latest(self.folder, "ckpt_")
    if found is None:
      return None
    saved = load_tree(found[1])
    # FLOPs counted before this point in the interrupted attempt are in the snapshot already.
    self.meter.totals = MeterTotals.from_dict(saved["meter"])
    if self.online is not None and "online" in saved:
      self.online.load_state_dict(saved["online"])
    return saved["learner"]
