"""Error against examples per class: the low-data study's table and figure, from run workdirs.

    python -m nevis.shots_plot WORKDIR... -o shots.png [--csv cells.csv]
    nevis plot --by-shots WORKDIR... -o shots.png

Each run is one cell of the study: its learner (the icl learner's mode and mixer, another learner's input size), its hyper-parameter
selection (`select_by`), its cap on training examples per class (`max_train_per_class`; none = all) and its
seed. A run's error is its mean error over tasks (NEVIS's unweighted mean); its compute is its training
FLOPs (every task and hyper-parameter candidate, as `nevis report` sums them), the harness's prequential
scoring FLOPs, and the pretraining FLOPs the harness recorded for the runs it starts from
(`nevis.pretraining`), kept apart and added into the total. Runs of one cell with different seeds are
averaged (mean and standard deviation over seeds).

The figure has two panels against the mean number of training examples per class over the tasks (log
scale): mean error, and total compute. Every (learner, mode, variant, select_by) is one line.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from nevis.errors import UserError
from nevis.pretraining import pretraining_flops
from nevis.report import Results, load_results

ALL = "all"


def cell_of(results: Results) -> dict:
  """One row: what the run is (its cell of the study) and what it measured."""
  config = results.meta.get("config", {})
  options = config.get("learner_options") or {}
  tasks = results.tasks
  if not len(tasks):
    raise UserError(f"{results.workdir} holds no trained task; finish the run first")
  per_class = (tasks["train_examples"] / tasks["num_classes"]).mean()
  # What else sets the cell apart: the icl learner's mixer (and steps, where it trains on the task), another
  # learner's input size (knn on 16 or 32 px).
  if config.get("learner") == "icl":
    variant = (options.get("sequence") or {}).get("mixer", "")
    if options.get("mode") in ("ft_only", "icl_ft") and "num_steps" in options:
      variant += f" {options['num_steps']} steps"
  else:
    variant = f"{options['image_size']}px" if "image_size" in options else ""
  train = float(tasks["train_flops"].sum())
  prequential = float(tasks["prequential_flops"].sum())
  pretraining = pretraining_flops(results.meta)
  return {
      "learner": config.get("learner", "?"),
      "mode": options.get("mode", ""),
      "variant": variant,
      "select_by": options.get("select_by", "") if options.get("mode") != "icl_only" else "",
      "shots": config.get("max_train_per_class") or ALL,
      "seed": config.get("seed", 0),
      "tasks": len(tasks),
      "examples_per_class": float(per_class),
      "error": float(tasks["error"].mean()),
      "train_flops": train,
      "prequential_flops": prequential,
      "pretraining_flops": pretraining,
      "total_flops": train + prequential + pretraining,
      "workdir": str(results.workdir),
  }


def cells(runs: list[Results]):
  """One row per complete run (a run still going or stopped would mix fewer tasks into its cell's mean)."""
  import pandas as pd

  return pd.DataFrame([cell_of(r) for r in runs if r.meta.get("status") == "complete"])


def summary(rows):
  """Mean and spread over seeds of every cell (learner, mode, variant, select_by, shots)."""
  keys = ["learner", "mode", "variant", "select_by", "shots"]
  rows = rows.assign(shots=rows["shots"].astype(str))
  grouped = rows.groupby(keys, sort=False)
  out = grouped.agg(seeds=("seed", "nunique"), tasks=("tasks", "max"), examples_per_class=("examples_per_class", "mean"),
                    error=("error", "mean"), error_std=("error", "std"), train_flops=("train_flops", "mean"),
                    prequential_flops=("prequential_flops", "mean"), pretraining_flops=("pretraining_flops", "mean"),
                    total_flops=("total_flops", "mean")).reset_index()
  return out


def line_label(row) -> str:
  parts = [row["mode"] or row["learner"]]
  if row["variant"]:
    parts.append(row["variant"])
  if row["select_by"]:
    parts.append(f"by {row['select_by']}")
  return " ".join(parts)


def plot_shots(runs: list[Results], output: str | Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  table = summary(cells(runs))
  table["line"] = [line_label(row) for _, row in table.iterrows()]
  fig, (ax_error, ax_flops) = plt.subplots(1, 2, figsize=(12, 4.5))
  for line, group in table.groupby("line", sort=False):
    group = group.sort_values("examples_per_class")
    x = group["examples_per_class"].to_numpy()
    std = group["error_std"].fillna(0.0).to_numpy()
    ax_error.errorbar(x, group["error"], yerr=std, marker="o", ms=4, capsize=3, label=line)
    ax_flops.plot(x, group["total_flops"], marker="o", ms=4, label=line)
  ax_error.set_ylabel("mean error over tasks (mean ± std over seeds)")
  ax_error.set_title("error vs examples per class")
  ax_flops.set_yscale("log")
  ax_flops.set_ylabel("total FLOPs (training + pretraining)")
  ax_flops.set_title("compute vs examples per class")
  for ax in (ax_error, ax_flops):
    ax.set_xscale("log")
    ax.set_xlabel("training examples per class (mean over tasks)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  fig.tight_layout()
  output = Path(output)
  staging = output.with_name(f".{output.name}.tmp")
  try:
    fig.savefig(staging, dpi=120, format=output.suffix.lstrip(".").lower() or "png")
    staging.replace(output)
  except OSError as e:
    raise UserError(f"cannot write the plot {str(output)!r} ({e.strerror}); choose a writable folder") from None
  finally:
    plt.close(fig)
    staging.unlink(missing_ok=True)
  return output


def format_table(table) -> str:
  lines = ["| cell | examples/class | seeds | mean error (± std) | train FLOPs | pretraining FLOPs | total FLOPs |",
           "|---|---|---|---|---|---|---|"]
  for _, row in table.iterrows():
    std = "" if math.isnan(row["error_std"]) else f" ± {row['error_std']:.3f}"
    lines.append(f"| {line_label(row)}, {row['shots']}/class | {row['examples_per_class']:.1f} | {row['seeds']} | "
                 f"{row['error']:.3f}{std} | {row['train_flops']:.3g} | {row['pretraining_flops']:.3g} | "
                 f"{row['total_flops']:.3g} |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("workdirs", nargs="+")
  parser.add_argument("-o", "--output", required=True, help="the figure (png, pdf, svg, ...)")
  parser.add_argument("--csv", help="also write one row per run to this CSV file")
  args = parser.parse_args(argv)
  runs = [load_results(w) for w in args.workdirs]
  if args.csv:
    cells(runs).to_csv(args.csv, index=False)
  print(format_table(summary(cells(runs))))
  print(f"plot: {plot_shots(runs, args.output)}")


if __name__ == "__main__":
  main()
