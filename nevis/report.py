"""`nevis report`: one run's per-task table and summary, or several runs compared configuration by
configuration (grouped over seeds by `nevis.compare`). Missing values print as `—`."""
from __future__ import annotations

import json
import math

import pandas as pd

from nevis import compare
from nevis.budget import short_number
from nevis.compare import Configuration
from nevis.run_results import Results, load_results

__all__ = ["Results", "load_results", "task_table", "format_report", "format_comparison", "format_table"]
MISSING = "—"


def task_table(results: Results) -> pd.DataFrame:
  t = results.tasks.copy()
  if "peak_host_bytes" in t:
    t["peak_host_bytes"] = t["peak_host_bytes"] / 2**20
  if "budget_flops" in t and t["budget_flops"].isna().all():
    t = t.drop(columns=["budget_flops", "budget_bound"])
  if "budget_bound" in t:
    t["budget_bound"] = t["budget_bound"].map({1: "yes", 0: "no"})
  cols = {
      "position": "#",
      "task": "task",
      "year": "year",
      "num_classes": "classes",
      "train_examples": "train n",
      "num_examples": "eval n",
      "error": "error",
      "log_loss": "log-loss",
      "train_flops": "train FLOPs",
      "cumulative_train_flops": "cum. train FLOPs",
      "budget_flops": "budget FLOPs",
      "budget_bound": "budget bound",
      "preq_bits_per_example": "preq bits/ex",
      "wall_time_s": "wall s",
      "learner_wall_s": "learner s",
      "learner_cpu_s": "learner CPU s",
      "peak_host_bytes": "peak RSS MiB",
  }
  return t[[c for c in cols if c in t]].rename(columns=cols)


def format_table(table: pd.DataFrame) -> str:
  """A table as text: numbers to 4 significant digits and right-aligned, text left-aligned, missing
  values as `—`."""
  columns = []
  for name in table.columns:
    cells = [_cell(v) for v in table[name]]
    text = any(isinstance(v, str) and v != MISSING and not _numeric(v) for v in table[name])
    width = max([len(str(name))] + [len(c) for c in cells])
    align = str.ljust if text else str.rjust
    columns.append([align(str(name), width)] + [align(c, width) for c in cells])
  return "\n".join("  ".join(row).rstrip() for row in zip(*columns)) if columns else ""


def _numeric(text: str) -> bool:
  """Numbers with an interval ('0.0402 ± 0.0051') align as numbers."""
  return text[:1].isdigit() or text[:1] == "-" and text[1:2].isdigit()


def _cell(value) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
    return MISSING
  if isinstance(value, float):
    return f"{value:.4g}"
  return str(value)


def format_report(results: Results) -> str:
  lines = [f"== {results.label}  ({results.workdir})", format_table(task_table(results))]
  s = results.summary()
  lines.append(
      f"summary: {s['num_tasks']} tasks, mean error {s['mean_error']:.4f} (unweighted, as NEVIS), "
      f"example-weighted {s['weighted_error']:.4f}, training FLOPs {s['total_train_flops']:.4g}"
      + (f", prequential {s['preq_bits_per_example']:.4f} bits/example" if "preq_bits_per_example" in s else "")
      + (f", average forgetting {s['average_forgetting']:.4f}" if "average_forgetting" in s else "")
      + _budget_text(results)
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


def _budget_text(results: Results) -> str:
  budget = (results.meta.get("config") or {}).get("compute_budget")
  if not budget or "budget_bound" not in results.tasks:
    return ""
  bound = int((results.tasks["budget_bound"] == 1).sum())
  return (f", compute budget {budget['flops']:.4g} FLOPs per {budget.get('per', 'task')} (bound in {bound} of "
          f"{len(results.tasks)} tasks)")


def _flops_text(helper: dict) -> str:
  uncounted = helper.get("uncounted_calls", 0)
  return f"{helper.get('flops', 0.0):.4g} FLOPs" + (f" + {uncounted} calls uncounted" if uncounted else "")


# -- several runs ---------------------------------------------------------------------------------------


def format_comparison(configurations: list[Configuration], *, per_task: bool = False) -> str:
  """The comparison table (one row per configuration), the budget curves when there are any, the tasks
  side by side with `per_task`, and one line per run."""
  summary = compare.summary_frame(configurations)
  runs = sum(len(c.runs) for c in configurations)
  lines = [f"== {len(configurations)} configurations, {runs} runs: mean error over tasks (unweighted, as NEVIS), "
           "mean over seeds ± 95 % Student-t interval"]
  table = pd.DataFrame({
      "configuration": summary["configuration"],
      "seeds": summary["seeds"],
      "tasks": summary["tasks"],
      "mean error": [_with_interval(m, h) for m, h in zip(summary["mean_error"], summary["error_ci95"])],
      "train FLOPs": summary["train_flops"],
      "preq bits/ex": summary["preq_bits_per_example"],
      "wall s": summary["wall_s"],
  })
  if summary["compute_budget"].notna().any():
    table["budget"] = summary["compute_budget"]
    table["bound in tasks"] = summary["budget_bound_tasks"]
  table["status"] = summary["status"]
  lines.append(format_table(table))
  curves, budgets = compare.budget_curves(configurations)
  if len(curves):
    lines.append("== error against training compute, per configuration run at several budgets: area = mean error "
                 "over log10(FLOPs) between the lowest and highest compute; error at B = the lowest mean error "
                 "within B training FLOPs for the stream")
    shown = pd.DataFrame({
        "configuration": curves["configuration"], "points": curves["points"],
        "FLOPs from": curves["min_flops"], "to": curves["max_flops"], "area": curves["area"]})
    for budget in budgets:
      name = f"error_at_{short_number(budget)}"
      shown[f"error at {short_number(budget)}"] = curves[name]
    lines.append(format_table(shown))
  if per_task:
    lines.append("== per task: error, mean over seeds ± 95 % interval; eval n = evaluation examples")
    lines.append(format_table(_per_task_table(compare.per_task_frame(configurations), configurations)))
  lines.append("runs:")
  width = max(len(c.label) for c in configurations)
  for c in configurations:
    left_out = {id(r) for r in c.left_out}
    for r in c.runs:
      s = r.summary()
      seed = (r.meta.get("config") or {}).get("seed")
      note = "  (left out of the aggregates)" if id(r) in left_out else ""
      error = MISSING if math.isnan(s["mean_error"]) else f"{s['mean_error']:.4f}"
      lines.append(f"  {c.label:{width}s}  seed {seed}  error {error}  FLOPs {s['total_train_flops']:.3g}  "
                   f"{s['status']}  {r.workdir}{note}")
  return "\n".join(lines)


def _with_interval(mean: float, half_width: float) -> str:
  if math.isnan(mean):
    return MISSING
  return f"{mean:.4f} ± {half_width:.4f}" if not math.isnan(half_width) else f"{mean:.4f} ± {MISSING}"


def _per_task_table(frame: pd.DataFrame, configurations: list[Configuration]) -> pd.DataFrame:
  tasks = frame.sort_values("position").drop_duplicates("task")[["position", "task", "year"]]
  sizes = frame.groupby("task")["eval_n"].agg(lambda s: s.iloc[0] if s.nunique(dropna=False) == 1 else None)
  out = pd.DataFrame({"#": tasks["position"].to_numpy(), "task": tasks["task"].to_numpy(),
                      "year": tasks["year"].to_numpy(),
                      "eval n": [_int_or_missing(sizes.get(t)) for t in tasks["task"]]})
  for c in configurations:
    mine = frame[frame["configuration"] == c.label].set_index("task")
    out[c.label] = [_with_interval(mine.loc[t, "error"], mine.loc[t, "error_ci95"]) if t in mine.index else MISSING
                    for t in out["task"]]
  return out


def _int_or_missing(value) -> str:
  return MISSING if value is None or pd.isna(value) else str(int(value))


def report_command(workdirs: list[str], *, per_task: bool = False, csv: str | None = None) -> str:
  """`nevis report`: one run's table, or the comparison of several (sweep folders expanded); `csv` gets
  every (run, task) row with its configuration and seed."""
  from nevis.outputs import CSV_FORMATS, checked_output, write_text

  csv_path = checked_output(csv, CSV_FORMATS, "--csv") if csv else None
  runs = compare.load_runs(workdirs)
  configurations = compare.group(runs)
  text = format_report(runs[0]) if len(runs) == 1 else format_comparison(configurations, per_task=per_task)
  if csv_path is not None:
    write_text(csv_path, compare.runs_frame(runs).to_csv(index=False), "--csv")
    text += f"\ncsv: {csv_path}"
  return text
