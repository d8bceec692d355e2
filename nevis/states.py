"""The learner's state between tasks, in the workdir's `checkpoints/` folder.

- `state_<p>`: the state after task p. The runner always continues from the checkpointed state (saved,
  then read back), so an interrupted and an uninterrupted run take the same path. The save and the read-back
  run on a thread of their own while the learner is scored (`checkpoint_while`): the scoring gets the state
  as it will read back (`checkpoints.as_restored`), which the read-back must then match bit for bit (if it
  ever does not, the scores are thrown away and taken again on the state read back). The state after the
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

    `score` runs on `checkpoints.as_restored(state)`; should the read-back differ from it in any detail, the
    meter's totals go back to where they were and `score` runs again on the read-back."""
    self._check_saveable(task, state)
    expected = checkpoints.as_restored(state)
    if expected is None:  # a state whose round trip is not modelled: one step after the other
      state = self.checkpoint(position, task, state)
      return state, score(state)
    totals = copy.deepcopy(meter.totals)
    pending = checkpoints.BackgroundSave(self._state_path(position), state)
    try:
      scores = score(expected)
    except BaseException:
      pending.wait()  # the checkpoint is whole or absent before the error goes on
      raise
    restored = pending.result()
    crash_point(f"after_state:{position}")
    if checkpoints.identical(expected, restored):
      return expected, scores  # the object scored is the one the run goes on with, as in `checkpoint`
    meter.totals = totals
    return restored, score(restored)

  def _check_saveable(self, task: Task, state) -> None:
    unsaveable = checkpoints.unsaveable_leaf(state)
    if unsaveable is not None:
      raise LearnerError(
          f"learner {self.learner_name!r} returned a state after task {task.info.name!r} that cannot be "
          f"checkpointed: {unsaveable}; learner state must hold dicts, lists, arrays, numbers and strings"
      )

  def recorded(self, position: int) -> None:
    """Task `position` is in the results: its folder goes, and every state but its own and the one before."""
    shutil.rmtree(self.task_folder(position), ignore_errors=True)
    keep = {f"state_{position}", f"state_{self.last_trained}"}
    for old in self.folder.glob("state_*"):
      if old.name not in keep:
        shutil.rmtree(old, ignore_errors=True)
    self.last_trained = position

  def _state_path(self, position: int) -> Path:
    return self.folder / f"state_{position}"
