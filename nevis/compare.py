"""Comparing runs: which runs are one configuration, what each is called, and its numbers over seeds.

- Workdirs: each argument is a run's workdir, or a sweep folder whose run workdirs lie one level down
  (expanded in name order). A run named twice counts once.
- Grouping: runs whose configs differ only in `seed` are one configuration (keys a run's config lacks,
  written by an older nevis, count as their defaults). Configurations keep the order of their first run.
- Labels: a configuration's `name:` if set; otherwise its learner plus the config keys whose values differ
  between the compared configurations (`learner_options` and `compute_budget` only between configurations
  of the same learner, whose name already tells the learners apart). A name given to different
  configurations gets the automatic label appended.
- Aggregates: over the configuration's complete runs (all its runs when none is complete); the others
  are listed as left out. Mean error is the unweighted mean over tasks (NEVIS's), then the mean over
  seeds with a 95 % Student-t interval (`nevis.metrics.tradeoff.seed_interval`).
- Budget curves: configurations that differ only in `compute_budget` (and `name`) are one family; a
  family with two or more compute levels gets the area under its error-versus-log10-FLOPs curve and the
  error it reaches within each compared budget, counted for the whole stream (`error_at_budget`).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from nevis.budget import ComputeBudget, short_number
from nevis.config import RunConfig
from nevis.metrics import tradeoff
from nevis.results import DB_NAME
from nevis.run_results import Results, load_results

# Config keys that do not make another configuration.
SEED_KEYS = ("seed",)


def run_workdirs(paths: Sequence[str | Path]) -> list[Path]:
  """The run workdirs named by `paths`: each a run's workdir or a sweep folder of them (one level down)."""
  out: list[Path] = []
  for path in map(Path, paths):
    if path.is_dir() and not (path / DB_NAME).exists():
      runs = sorted(p for p in path.iterdir() if p.is_dir() and (p / DB_NAME).is_file())
      out.extend(runs or [path])  # a folder with neither: load_results says so
    else:
      out.append(path)
  unique: dict[Path, Path] = {}
  for path in out:
    unique.setdefault(path.resolve(), path)
  return list(unique.values())


def load_runs(paths: Sequence[str | Path]) -> list[Results]:
  return [load_results(p) for p in run_workdirs(paths)]


def full_config(results: Results) -> dict:
  """The run's config with every key this nevis knows (defaults for keys an older nevis did not write)."""
  return {**RunConfig().as_dict(), **(results.meta.get("config") or {})}


@dataclasses.dataclass(eq=False)  # compared by identity
class Configuration:
  """Runs that differ only in their seed."""

  label: str
  config: dict  # the shared config, without the seed
  runs: list[Results]

  @property
  def used(self) -> list[Results]:
    """The runs the aggregates are over: the complete ones, or all when none is complete."""
    complete = [r for r in self.runs if r.meta.get("status") == "complete"]
    return complete or list(self.runs)

  @property
  def left_out(self) -> list[Results]:
    used = {id(r) for r in self.used}
    return [r for r in self.runs if id(r) not in used]

  @property
  def budget(self) -> ComputeBudget | None:
    budget = self.config.get("compute_budget")
    return ComputeBudget.parse(budget) if budget else None

  def error(self) -> tradeoff.Interval:
    return tradeoff.seed_interval([r.summary()["mean_error"] for r in self.used])

  def mean(self, values: list[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan

  def train_flops(self) -> float:
    return self.mean([r.summary()["total_train_flops"] for r in self.used])


def group(runs: list[Results]) -> list[Configuration]:
  """Runs grouped into configurations (see the module's docstring), labelled."""
  keys: dict[str, list[Results]] = {}
  configs: dict[str, dict] = {}
  for results in runs:
    config = {k: v for k, v in full_config(results).items() if k not in SEED_KEYS}
    key = json.dumps(config, sort_keys=True, default=str)
    keys.setdefault(key, []).append(results)
    configs.setdefault(key, config)
  labels = configuration_labels(list(configs.values()))
  return [Configuration(label, configs[key], keys[key]) for label, key in zip(labels, keys)]


# -- labels -------------------------------------------------------------------------------------------

_ABSENT = object()


def configuration_labels(configs: list[dict]) -> list[str]:
  """One label per config (seed left out): its `name`, else the learner and the keys that differ."""
  flats = [_flat(c) for c in configs]
  keys = sorted(set().union(*flats) - {"seed", "name", "learner"}) if flats else []
  shown = _short_names(keys)
  autos = []
  for config, flat in zip(configs, flats):
    same_learner = [f for c, f in zip(configs, flats) if c.get("learner") == config.get("learner")]
    parts = []
    for key in keys:
      among = same_learner if key.startswith("learner_options.") or key == "compute_budget" else flats
      if key in flat and len({_identity(f.get(key, _ABSENT)) for f in among}) > 1:
        parts.append(f"{shown[key]}={_value_text(key, flat[key])}")
    autos.append(" ".join([str(config.get("learner", "?"))] + parts))
  names = [c.get("name") for c in configs]
  labels = []
  for name, auto, config in zip(names, autos, configs):
    clash = name is not None and sum(1 for n, c in zip(names, configs) if n == name and c is not config) > 0
    labels.append(auto if name is None else f"{name} [{auto}]" if clash else name)
  return _unique(labels)


def _flat(config: dict, prefix: str = "") -> dict[str, Any]:
  """Dotted keys to values; compute_budget stays whole, empty mappings carry nothing."""
  out = {}
  for key, value in config.items():
    if isinstance(value, dict) and (prefix or key != "compute_budget"):
      out.update(_flat(value, f"{prefix}{key}."))
    else:
      out[prefix + key] = value
  return out


def _identity(value: Any) -> str:
  return "<absent>" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


def _short_names(keys: list[str]) -> dict[str, str]:
  """'learner_options.num_epochs' -> 'num_epochs' where the last part names one key and no top-level one."""
  top = set(RunConfig().as_dict())
  last = [k.rsplit(".", 1)[-1] for k in keys]
  out = {}
  for key, tail in zip(keys, last):
    if key == "compute_budget":
      out[key] = "budget"
    elif "." in key and last.count(tail) == 1 and tail not in top:
      out[key] = tail
    else:
      out[key] = key
  return out


def _value_text(key: str, value: Any) -> str:
  if key == "compute_budget":
    return ComputeBudget.parse(value).describe_short() if value else "none"
  if isinstance(value, bool):
    return "true" if value else "false"
  if isinstance(value, float):
    return short_number(value)
  if isinstance(value, (list, tuple)):
    return ",".join(_value_text("", v) for v in value)
  return "null" if value is None else str(value)


def _unique(labels: list[str]) -> list[str]:
  seen: dict[str, int] = {}
  out = []
  for label in labels:
    seen[label] = seen.get(label, 0) + 1
    out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
  return out


# -- the numbers --------------------------------------------------------------------------------------


def summary_frame(configurations: list[Configuration]) -> pd.DataFrame:
  """One row per configuration: its seeds, mean error and interval, compute, code length, time, budget."""
  rows = []
  for c in configurations:
    used, error = c.used, c.error()
    preq = [r.summary().get("preq_bits_per_example", math.nan) for r in used]
    budget = c.budget
    bound = [float((r.tasks["budget_bound"] == 1).sum()) if "budget_bound" in r.tasks else math.nan for r in used]
    rows.append({
        "configuration": c.label,
        "seeds": len(used),
        "seed_values": ",".join(str(full_config(r).get("seed")) for r in used),
        "tasks": int(max(len(r.tasks) for r in used)),
        "mean_error": error.mean,
        "error_ci95": error.half_width,
        "train_flops": c.train_flops(),
        "preq_bits_per_example": c.mean(preq),
        "wall_s": c.mean([float(r.tasks["wall_time_s"].sum()) for r in used]),
        "compute_budget": budget.describe_short() if budget else None,
        "budget_bound_tasks": c.mean(bound) if budget else math.nan,
        "status": _status_text(c),
    })
  return pd.DataFrame(rows)


def _status_text(c: Configuration) -> str:
  counts: dict[str, int] = {}
  for r in c.runs:
    status = r.meta.get("status") or "unknown"
    counts[status] = counts.get(status, 0) + 1
  return ", ".join(f"{n} {s}" if len(c.runs) > 1 else s for s, n in counts.items())


def per_task_frame(configurations: list[Configuration]) -> pd.DataFrame:
  """One row per (configuration, task): the error over seeds (mean, interval) and the evaluation set size."""
  rows = []
  for c in configurations:
    tasks: dict[str, dict] = {}
    for r in c.used:
      for t in r.tasks.itertuples():
        entry = tasks.setdefault(t.task, {"position": int(t.position), "year": t.year, "num_classes": t.num_classes,
                                          "kind": getattr(t, "kind", None), "errors": [], "eval_n": set()})
        entry["errors"].append(float(t.error))
        if not pd.isna(t.num_examples):
          entry["eval_n"].add(int(t.num_examples))
    for name, entry in tasks.items():
      interval = tradeoff.seed_interval(entry["errors"])
      sizes = sorted(entry["eval_n"])
      rows.append({"configuration": c.label, "position": entry["position"], "task": name, "year": entry["year"],
                   "num_classes": entry["num_classes"], "kind": entry["kind"], "eval_n": sizes[0] if len(sizes) == 1 else None,
                   "error": interval.mean, "error_ci95": interval.half_width, "seeds": interval.count})
  return pd.DataFrame(rows)


def runs_frame(runs: list[Results]) -> pd.DataFrame:
  """Every (run, task) row of `runs` in one DataFrame, with its configuration's label, seed and run."""
  configurations = group(runs)
  frames = []
  for c in configurations:
    for r in c.runs:
      df = r.tasks.copy()
      df.insert(0, "configuration", c.label)
      df.insert(1, "seed", full_config(r).get("seed"))
      df.insert(2, "run", str(r.workdir))
      df.insert(3, "learner", c.config.get("learner"))
      df.insert(4, "status", r.meta.get("status"))
      frames.append(df)
  return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def budget_curves(configurations: list[Configuration]) -> tuple[pd.DataFrame, list[float]]:
  """Per family of configurations at several compute levels: its points, the area under its error versus
  log10-FLOPs curve, and its error within each compared budget (whole-stream FLOPs). Returns the table and
  the budgets; an empty table when no family has a budgeted member and two compute levels."""
  measured = [c for c in configurations if not math.isnan(c.error().mean)]  # a run not begun has no point
  budgets = sorted({c.budget.stream_total(max(r.stream_tasks for r in c.used)) for c in measured if c.budget})
  kept = [f for f in families(measured) if len(f) > 1 and any(c.budget for c in f)]
  labels = configuration_labels([{**f[0].config, "compute_budget": None, "name": _common_name(f)} for f in kept])
  rows = []
  for label, family in zip(labels, kept):
    compute = np.array([c.train_flops() for c in family])
    errors = np.array([c.error().mean for c in family])
    ok = compute > 0
    row = {"configuration": label, "points": len(family), "min_flops": float(compute.min()),
           "max_flops": float(compute.max()),
           "area": tradeoff.log_compute_area(compute[ok], errors[ok]) if ok.sum() > 1 else math.nan}
    for budget in budgets:
      row[f"error_at_{short_number(budget)}"] = tradeoff.error_at_budget(compute, errors, budget)
    rows.append(row)
  return pd.DataFrame(rows), budgets


def families(configurations: list[Configuration]) -> list[list[Configuration]]:
  """Configurations that differ only in `compute_budget` (and `name`), in order of first appearance."""
  out: dict[str, list[Configuration]] = {}
  for c in configurations:
    rest = {k: v for k, v in c.config.items() if k not in ("compute_budget", "name")}
    out.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(c)
  return list(out.values())


def _common_name(family: list[Configuration]) -> str | None:
  names = {c.config.get("name") for c in family}
  return names.pop() if len(names) == 1 else None
