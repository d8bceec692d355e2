"""Reading results back: `nevis.load_results(workdir)` and the `nevis report` table."""
from __future__ import annotations

import dataclasses
import json
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

  @property
  def missing_predictions(self) -> list[str]:
    """Saved logits that the results name but that are gone from the workdir."""
    paths = self.evaluations["predictions_path"].dropna() if len(self.evaluations) else []
    return [p for p in paths if not (self.workdir / p).is_file()]

  @property
  def label(self) -> str:
    cfg = self.meta.get("config", {})
    return f"{cfg.get('learner', '?')} on {cfg.get('stream', '?')}"

  def error_matrix(self) -> np.ndarray:
    """E[i, j]: error on task j after training task i (NaN where not measured)."""
    n = int(self.tasks["position"].max()) + 1 if len(self.tasks) else 0
    e = np.full((n, n), np.nan)
    for row in self.evaluations.itertuples():
      if row.after_position < n and row.position < n:
        e[row.after_position, row.position] = row.error
    return e

  def summary(self) -> dict:
    t = self.tasks
    out = summary_lib.stream_summary(list(t["error"]), list(t["num_examples"])) if len(t) else {
        "mean_error": math.nan, "weighted_error": math.nan, "num_tasks": 0}
    out["total_train_flops"] = float(t["train_flops"].sum()) if len(t) else 0.0
    out["total_prequential_flops"] = float(t["prequential_flops"].sum()) if len(t) else 0.0
    out["total_eval_flops"] = float(t["eval_flops"].sum()) if len(t) else 0.0
    if len(t) and t["preq_bits"].notna().any():
      out["preq_bits_per_example"] = float(t["preq_bits"].sum() / t.loc[t["preq_bits"].notna(), "train_examples"].sum())
    e = self.error_matrix()
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
  return Results(workdir, meta, tasks, evals, skipped)


def task_table(results: Results) -> pd.DataFrame:
  t = results.tasks.copy()
  if "peak_host_bytes" in t:
    t["peak_host_bytes"] = t["peak_host_bytes"] / 2**20
  cols = {
      "position": "#",
      "task": "task",
      "year": "year",
      "num_classes": "classes",
      "train_examples": "train n",
      "error": "error",
      "log_loss": "log-loss",
      "train_flops": "train FLOPs",
      "cumulative_train_flops": "cum. train FLOPs",
      "preq_bits_per_example": "preq bits/ex",
      "wall_time_s": "wall s",
      "learner_wall_s": "learner s",
      "learner_cpu_s": "learner CPU s",
      "peak_host_bytes": "peak RSS MiB",
  }
  return t[[c for c in cols if c in t]].rename(columns=cols)


def format_report(results: Results) -> str:
  table = task_table(results)
  lines = [f"== {results.label}  ({results.workdir})"]
  with pd.option_context("display.max_rows", 500, "display.width", 200, "display.float_format", "{:.4g}".format):
    lines.append(table.to_string(index=False))
  s = results.summary()
  lines.append(
      f"summary: {s['num_tasks']} tasks, mean error {s['mean_error']:.4f} (unweighted, as NEVIS), "
      f"example-weighted {s['weighted_error']:.4f}, training FLOPs {s['total_train_flops']:.4g}"
      + (f", prequential {s['preq_bits_per_example']:.4f} bits/example" if "preq_bits_per_example" in s else "")
      + (f", average forgetting {s['average_forgetting']:.4f}" if "average_forgetting" in s else "")
      + ("" if s["status"] == "complete" else f" [run {s['status']}]")
  )
  failure = results.meta.get("failure")
  if s["status"] in ("failed", "interrupted") and failure:
    where = "" if failure.get("task") is None else f" on task {failure['position']} ({failure['task']})"
    lines.append(f"{s['status']}{where}: {failure.get('error')}")
  if len(results.skipped):
    lines.append(f"skipped (missing data): {', '.join(results.skipped['task'])}")
  helpers = [(r.task, json.loads(r.unmetered)) for r in results.tasks.itertuples()
             if isinstance(getattr(r, "unmetered", None), str)]
  if helpers:
    lines.append("unmetered helper work (declared, not in the FLOP columns): " + "; ".join(
        f"{task}: {h.get('calls', 0)} calls, {_flops_text(h)} ({', '.join(h.get('reasons', []))})"
        for task, h in helpers))
  missing = results.missing_predictions
  if missing:
    lines.append(f"missing prediction files: {len(missing)} of {len(results.evaluations)} (e.g. {missing[0]}); "
                 "their errors stand as recorded but cannot be rescored")
  return "\n".join(lines)


def _flops_text(helper: dict) -> str:
  uncounted = helper.get("uncounted_calls", 0)
  return f"{helper.get('flops', 0.0):.4g} FLOPs" + (f" + {uncounted} calls uncounted" if uncounted else "")
