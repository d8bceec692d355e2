"""Pretraining compute: what the runs a learner starts from cost, read from their own results.

A learner that starts from the artefact of earlier runs (`pretrained`'s `pretrained_from`, `icl`'s
`init_from`) names their workdirs in `Learner.starts_from()`. The harness, never the learner, reads each
source run's metered training FLOPs (its meter's training total: every task and hyper-parameter trial, and
the learner's initialisation) plus that run's own pretraining, so chains add up, and records the sum in
the new run's meta as `pretraining`:

    {"flops": <sum>, "runs": [{"workdir": ..., "train_flops": ..., "pretraining_flops": ...}]}

Evaluation and prequential scoring of a source run are not part of what a later run starts from, so they
are not counted. A source that is missing, holds no results or is not complete is a ConfigError found
before the new run touches its workdir.
"""
from __future__ import annotations

from pathlib import Path

from nevis import results as results_lib
from nevis.errors import ConfigError, UserError
from nevis.protocol import Learner

META_KEY = "pretraining"


def source_compute(learner: Learner) -> dict | None:
  """The `pretraining` record of a run of `learner` (None when it starts from no earlier run)."""
  workdirs = tuple(learner.starts_from())
  if not workdirs:
    return None
  runs = [_run_compute(Path(workdir)) for workdir in workdirs]
  return {"flops": sum(run["train_flops"] + run["pretraining_flops"] for run in runs), "runs": runs}


def _run_compute(workdir: Path) -> dict:
  db = workdir / results_lib.DB_NAME
  if not db.is_file():
    raise ConfigError(f"the run this learner starts from, {str(workdir)!r}, holds no results "
                      f"({results_lib.DB_NAME}); point it at the workdir of a finished nevis run")
  try:
    meta = results_lib.read_meta(db)
  except UserError as e:
    raise ConfigError(f"the results of {str(workdir)!r}, which this learner starts from, cannot be read: {e}") from None
  if meta.get("status") != "complete":
    raise ConfigError(f"the run {str(workdir)!r} that this learner starts from is not complete (status "
                      f"{meta.get('status')!r}); finish it with `nevis run --resume --workdir {workdir}`")
  train = float(((meta.get("meter") or {}).get("flops") or {}).get("train", 0.0))
  earlier = float((meta.get(META_KEY) or {}).get("flops", 0.0))
  return {"workdir": str(workdir.absolute()), "train_flops": train, "pretraining_flops": earlier}


def pretraining_flops(meta: dict) -> float:
  """The pretraining FLOPs a run's meta records (0 for a run that starts from no earlier run)."""
  return float((meta.get(META_KEY) or {}).get("flops", 0.0))
