"""`loggers: [wandb]`: a Weights & Biases run in WORKDIR/wandb (`pip install "nevis[wandb]"`).

Offline unless the environment says otherwise: W&B's own `WANDB_MODE` is used when set (`online` to sync as
the run goes), and is `offline` when unset, so that no nevis command touches the network unasked; upload an
offline run later with `wandb sync WORKDIR/wandb/offline-run-*`. The W&B run's id is kept in
WORKDIR/wandb/nevis-run-id, so a resumed nevis run continues the same W&B run. Task numbers are logged
against `task/position`, the learner's against `learner/step` (W&B's `define_metric`).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from nevis.loggers import Logger
from nevis.registry import register_logger

FOLDER = "wandb"
ID_FILE = "nevis-run-id"


@register_logger("wandb")
class WandbLogger(Logger):
  """A Weights & Biases run in WORKDIR/wandb (offline unless WANDB_MODE is set)."""

  requires = ("wandb",)
  install = "nevis[wandb]"

  def __init__(self, workdir: Path, config: dict, resumed: bool):
    import wandb

    folder = Path(workdir) / FOLDER
    folder.mkdir(exist_ok=True)
    id_file = folder / ID_FILE
    run_id = id_file.read_text().strip() if id_file.is_file() else None
    if run_id is None:
      run_id = uuid.uuid4().hex[:12]  # W&B ids: lowercase letters and digits
      id_file.write_text(run_id + "\n")
    self._run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", "nevis"),
        name=Path(workdir).name,
        id=run_id,
        resume="allow",
        dir=str(workdir),  # W&B writes into DIR/wandb
        config=config,
        mode=os.environ.get("WANDB_MODE", "offline"),
        settings=wandb.Settings(console="off", silent=True),
    )
    for axis, step in (("task", "task/position"), ("learner", "learner/step")):
      self._run.define_metric(step)
      self._run.define_metric(f"{axis}/*", step_metric=step)

  def log(self, axis: str, step: int, values: dict[str, float]) -> None:
    key = "task/position" if axis == "task" else "learner/step"
    self._run.log({key: step, **{f"{axis}/{name}": value for name, value in values.items()}})

  def close(self) -> None:
    self._run.finish()
