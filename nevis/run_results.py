"""One run's results read back: `Results` (pandas DataFrames of its tasks and evaluations, its meta, its
summary and error matrix), as `nevis.load_results(workdir)` returns it. Read-only: nothing is written."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from nevis.metrics import forgetting as forgetting_lib, summary as summary_lib
from nevis.results import ResultsStore


@dataclasses.dataclass
class Results:
  workdir: Path
  meta: dict
  tasks: pd.DataFrame  # one row per trained task: the train event joined with its own evaluation
  evaluations: pd.DataFrame  # every eval event (with evaluate_past: the whole accuracy matrix)
  skipped: pd.DataFrame
  stream_tasks: int = 0  # tasks the run was set to go through (the stream, cut at max_tasks)

  @property
  def missing_predictions(self) -> list[str]:
    """Saved logits that the results name but that are gone from the workdir."""
    paths = self.evaluations["predictions_path"].dropna() if len(self.evaluations) else []
    return [p for p in paths if not (self.workdir / p).is_file()]

  @property
  def label(self) -> str:
    cfg = self.meta.get("config", {})
    return f"{cfg.get('learner', '?')} on {cfg.get('stream', '?')}"

  def error_matrix(self) -> pd.DataFrame:
    """E[i, j]: error on task j after training task i (NaN where not measured), labelled with the task
    names on both axes (rows: after training; columns: evaluated), in stream order."""
    n = int(self.tasks["position"].max()) + 1 if len(self.tasks) else 0
    e = np.full((n, n), np.nan)
    for row in self.evaluations.itertuples():
      if row.after_position < n and row.position < n:
        e[row.after_position, row.position] = row.error
    names = dict(zip(self.tasks["position"], self.tasks["task"]))
    labels = [names.get(i, f"#{i}") for i in range(n)]
    return pd.DataFrame(e, index=pd.Index(labels, name="after training"), columns=pd.Index(labels, name="error on"))

  def summary(self) -> dict:
    t = self.tasks
    out = summary_lib.stream_summary(list(t["error"]), list(t["num_examples"])) if len(t) else {
        "mean_error": math.nan, "weighted_error": math.nan, "num_tasks": 0}
    out["total_train_flops"] = float(t["train_flops"].sum()) if len(t) else 0.0
    out["total_prequential_flops"] = float(t["prequential_flops"].sum()) if len(t) else 0.0
    out["total_eval_flops"] = float(t["eval_flops"].sum()) if len(t) else 0.0
    if len(t) and t["preq_bits"].notna().any():
      out["preq_bits_per_example"] = float(t["preq_bits"].sum() / t.loc[t["preq_bits"].notna(), "train_examples"].sum())
    e = self.error_matrix().to_numpy()
    if e.shape[0] > 1 and np.isfinite(e[-1, :-1]).any() and self.meta.get("config", {}).get("evaluate_past"):
      out["average_forgetting"] = float(forgetting_lib.average_forgetting(e))
      out["backward_transfer"] = float(forgetting_lib.backward_transfer(e))
    out["status"] = self.meta.get("status")
    return out


def load_results(workdir: str | Path) -> Results:
  workdir = Path(workdir)
  with ResultsStore(workdir, read_only=True) as store:
    meta, events, task_table = store.tables()
  train = events[events.event == "train"].drop(columns=["split", "error", "log_loss", "num_examples"])
  evals = events[events.event == "eval"].reset_index(drop=True)
  own = evals[evals.position == evals.after_position][["position", "split", "error", "log_loss", "num_examples"]]
  tasks = train.merge(own, on="position", how="left").merge(
      task_table[["position", "dataset", "display_name", "year", "kind", "num_classes", "held_out"]],
      on="position",
      how="left",
  )
  tasks = tasks.sort_values("position").reset_index(drop=True)
  skipped = events[events.event == "skip"].reset_index(drop=True)
  return Results(workdir, meta, tasks, evals, skipped, len(task_table))
