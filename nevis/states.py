"""The learner's state between tasks, in the workdir's `checkpoints/` folder.

- `state_<p>`: the state after task p. The runner always continues from the checkpointed state (saved,
  then read back), so an interrupted and an uninterrupted run take the same path. `checkpoint_while` writes it
  on a thread of its own while the learner is scored, which gets the state as it will read back
  (`checkpoints.as_restored`, made in memory). The first state of a run is also read back and must match it
  bit for bit; if it ever does not, its scores are thrown away and taken again on the read-back, and the run
  goes on with `checkpoint`. The state after the
  last trained task and the one before it are kept: if the last is lost, `--resume --redo-last-task`
  trains that task again from the one before.
- `task_<p>`: a task's own folder (within-task checkpoints, partial prequential scores), removed once the
  task is recorded.

Only these names are deleted, and only inside `checkpoints/`, which nevis creates (see `nevis.workdir`).
"""
from __future__ import annotations

import copy
import json
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from nevis import checkpoints
from nevis.checkpoints import CheckpointError
from nevis.errors import LearnerError, UserError
from nevis.meter import ComputeMeter, MeterTotals
from nevis.results import ResultsStore
from nevis.run_support import crash_point
from nevis.task import Task

T = TypeVar("T")


class LearnerStates:
  def __init__(self, workdir: Path, learner_name: str):
    self.workdir = workdir
    self.folder = workdir / "checkpoints"
    self.learner_name = learner_name
    self.last_trained: int | None = None  # the task whose state the next one starts from
    self._removing: threading.Thread | None = None
    # Whether `checkpoints.as_restored` gave what this run's first state read back as (None: not checked yet).
    self._model_holds: bool | None = None

  def task_folder(self, position: int) -> Path:
    return self.folder / f"task_{position}"

  def remove_task_folders(self, positions) -> None:
    """Folders of recorded tasks, left over when a run died between recording a task and cleaning up."""
    for position in positions:
      shutil.rmtree(self.task_folder(position), ignore_errors=True)

  def restore(self, store: ResultsStore, tasks: list[Task], state, meter: ComputeMeter, *, redo_last_task: bool):
    """The state and meter totals after the last trained task; with `redo_last_task`, before it (and that
    task's events are forgotten). `state` (the learner's init) when no task is trained yet."""
    trained = sorted(store.trained_positions())
    self.last_trained = trained[-1] if trained else None
    if not trained:
      if redo_last_task:
        raise UserError("--redo-last-task: no task has been trained in this run yet; drop the flag")
      return state
    last = trained[-1]
    if not redo_last_task:
      try:
        state = checkpoints.load_tree(self._state_path(last))
      except CheckpointError as e:
        raise CheckpointError(
            f"the learner state after task {last} ({tasks[last].info.name}): {e}; train that task again from "
            f"the state before it with `nevis run --resume --redo-last-task --workdir {self.workdir}`"
        ) from None
      meter.totals = MeterTotals.from_dict(store.get_meta("meter"))
      return state
    previous = trained[-2] if len(trained) > 1 else None
    totals = MeterTotals()
    if previous is not None:
      saved = store.train_event(previous).get("meter_totals")
      if saved is None:
        raise UserError("--redo-last-task needs a run recorded by this version of nevis; start a new run")
      totals = MeterTotals.from_dict(json.loads(saved))
      try:
        state = checkpoints.load_tree(self._state_path(previous))
      except CheckpointError as e:
        raise CheckpointError(f"--redo-last-task: the learner state after task {previous}: {e}; start the run "
                              "again in a new --workdir") from None
    store.forget_task(last)
    meter.totals = totals
    self.last_trained = previous
    return state

  def checkpoint(self, position: int, task: Task, state):
    """Saves the state after `position` and returns it as read back: what the run continues from."""
    self._check_saveable(task, state)
    checkpoints.save_tree(self._state_path(position), state)
    crash_point(f"after_state:{position}")
    return checkpoints.load_tree(self._state_path(position))

  def checkpoint_while(self, position: int, task: Task, state, meter: ComputeMeter,
                       score: Callable[[Any], T]) -> tuple[Any, T]:
    """`checkpoint`, with `score(state as read back)` run while the state is written: returns (the state the
    run continues from, what `score` returned), the same as `checkpoint` then `score` would, sooner.

    `score` runs on `checkpoints.as_restored(state)`. The first time, the state is also read back; should the
    read-back differ from it in any detail, the meter's totals go back to where they were, `score` runs again
    on the read-back, and later states are written and read back before they are scored (`checkpoint`)."""
    self._check_saveable(task, state)
    expected = checkpoints.as_restored(state) if self._model_holds is not False else None
    if expected is None:  # a round trip not modelled: one step after the other
      state = self.checkpoint(position, task, state)
      return state, score(state)
    totals = copy.deepcopy(meter.totals)
    check = self._model_holds is None
    pending = checkpoints.BackgroundSave(self._state_path(position), state, read_back=check)
    try:
      crash_point(f"state_writing:{position}")  # killed while the state is being written
      scores = score(expected)
    except BaseException:
      pending.wait()  # the checkpoint is whole or absent before the error goes on
      raise
    restored = pending.result()
    crash_point(f"after_state:{position}")
    if check:
      self._model_holds = checkpoints.identical(expected, restored)
      if not self._model_holds:
        meter.totals = totals
        return restored, score(restored)
    return expected, scores  # the object scored is the one the run goes on with, as in `checkpoint`

  def _check_saveable(self, task: Task, state) -> None:
    unsaveable = checkpoints.unsaveable_leaf(state)
    if unsaveable is not None:
      raise LearnerError(
          f"learner {self.learner_name!r} returned a state after task {task.info.name!r} that cannot be "
          f"checkpointed: {unsaveable}; learner state must hold dicts, lists, arrays, numbers and strings"
      )

  def recorded(self, position: int) -> None:
    """Task `position` is in the results: its folder goes, and every state but its own and the one before.

    They are deleted on a thread of their own (the disk's time, not the CPU's); `finish()` waits for it. A
    deletion cut short leaves only what no resume reads, which the next `recorded` or a resume removes."""
    keep = {f"state_{position}", f"state_{self.last_trained}"}
    doomed = [self.task_folder(position)] + [old for old in self.folder.glob("state_*") if old.name not in keep]
    self.finish()
    self._removing = threading.Thread(target=_remove, args=(doomed,), name="nevis-remove")
    self._removing.start()
    self.last_trained = position

  def finish(self) -> None:
    """Waits for the deletions `recorded` started."""
    if self._removing is not None:
      self._removing.join()
      self._removing = None

  def _state_path(self, position: int) -> Path:
    return self.folder / f"state_{position}"


def _remove(folders: list[Path]) -> None:
  for folder in folders:
    shutil.rmtree(folder, ignore_errors=True)
