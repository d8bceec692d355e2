"""Error against examples per class: the low-data study's table and figure, from run workdirs.

    python -m nevis.shots_plot WORKDIR... -o shots.png [--csv cells.csv]
    nevis plot --by-shots WORKDIR... -o shots.png

Each complete run is one cell of the study, named by its learner and by the learner options that vary among
the given runs of that learner (nested options by their last key: `mode=icl_ft, mixer=fox, select_by=dev`;
workdirs the learner starts from and seeds are left out), and set apart by its cap on training examples per
class (`max_train_per_class`; none = all). A run's error is its mean error over tasks (NEVIS's unweighted
mean); its compute is its training FLOPs (every task and hyper-parameter candidate, as `nevis report` sums
them), the harness's prequential scoring FLOPs, and the pretraining FLOPs the harness recorded for the runs it
starts from (`nevis.pretraining`), kept apart and added into the total. Runs of one cell with different seeds
are averaged (mean and standard deviation over seeds).

The figure has two panels against the mean number of training examples per class over the tasks (log
scale): mean error, and the run's own compute (training and prequential scoring; the pretraining the runs
start from is a dotted line, as it would hide every difference); every cell name is one line.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from nevis import compare
from nevis.errors import UserError
from nevis.outputs import save_figure, write_text
from nevis.pretraining import pretraining_flops
from nevis.report import Results

ALL = "all"
UNNAMED_OPTIONS = ("init_from", "pretrained_from", "seed")  # paths to other runs and seeds name no cell


def _flat(options: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in options.items():
    if isinstance(value, dict):
      out.update(_flat(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = str(value)
  return out


def cell_of(results: Results) -> dict:
  """One row: what the run is (its learner, options and cap) and what it measured."""
  config = results.meta.get("config", {})
  tasks = results.tasks
  if not len(tasks):
    raise UserError(f"{results.workdir} holds no trained task; finish the run first")
  per_class = (tasks["train_examples"] / tasks["num_classes"]).mean()
  train = float(tasks["train_flops"].sum())
  prequential = float(tasks["prequential_flops"].sum())
  pretraining = pretraining_flops(results.meta)
  return {
      "learner": config.get("learner", "?"),
      "options": _flat(config.get("learner_options") or {}),
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
  """One row per complete run (a run still going or stopped would mix fewer tasks into its cell's mean), with
  its `cell` name: the learner and its options that vary among the runs of that learner."""
  import pandas as pd

  rows = [cell_of(r) for r in runs if r.meta.get("status") == "complete"]
  varying: dict[str, list[str]] = {}
  for learner in {row["learner"] for row in rows}:
    mine = [row["options"] for row in rows if row["learner"] == learner]
    keys = sorted({key for options in mine for key in options} - set(UNNAMED_OPTIONS))
    varying[learner] = [key for key in keys if key.rpartition(".")[2] not in UNNAMED_OPTIONS
                        and len({options.get(key) for options in mine}) > 1]
  for row in rows:
    named = ", ".join(f"{key.rpartition('.')[2]}={row['options'].get(key, '-')}" for key in varying[row["learner"]])
    row["cell"] = f"{row['learner']} {named}".strip()
    del row["options"]
  return pd.DataFrame(rows)


def summary(rows):
  """Mean and spread over seeds of every cell (its name and its cap)."""
  keys = ["cell", "shots"]
  rows = rows.assign(shots=rows["shots"].astype(str))
  grouped = rows.groupby(keys, sort=False)
  out = grouped.agg(seeds=("seed", "nunique"), tasks=("tasks", "max"), examples_per_class=("examples_per_class", "mean"),
                    error=("error", "mean"), error_std=("error", "std"), train_flops=("train_flops", "mean"),
                    prequential_flops=("prequential_flops", "mean"), pretraining_flops=("pretraining_flops", "mean"),
                    total_flops=("total_flops", "mean")).reset_index()
  return out.sort_values(["cell", "examples_per_class"], kind="stable").reset_index(drop=True)


def plot_shots(runs: list[Results], output: str | Path, *, data: str | Path | None = None) -> Path:
  """Draws the study's figure of `runs` into `output`; with `data`, writes its table (one row per cell and
  cap: every plotted value) to that CSV file."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  table = summary(cells(runs))
  if data is not None:
    write_text(Path(data), table.to_csv(index=False), "--data")
  names = list(dict.fromkeys(table["cell"]))
  rows = math.ceil(len(names) / 2)  # the legend, in two columns below both panels: it never covers a point
  height = 4.6 + 0.2 * rows
  fig, (ax_error, ax_flops) = plt.subplots(1, 2, figsize=(13, height))
  colours, markers = plt.get_cmap("tab20").colors, "osD^vP*Xh<>p"
  for i, (line, group) in enumerate(table.groupby("cell", sort=False)):
    group = group.sort_values("examples_per_class")
    x = group["examples_per_class"].to_numpy()
    std = group["error_std"].fillna(0.0).to_numpy()
    style = dict(marker=markers[i % len(markers)], ms=5, color=colours[(2 * i) % 20 + (i // 10) % 2])
    ax_error.errorbar(x, group["error"], yerr=std, capsize=3, label=line, **style)
    ax_flops.plot(x, group["train_flops"] + group["prequential_flops"], **style)
  for flops in sorted(set(table["pretraining_flops"]) - {0.0}):  # the same for every cell that starts from it
    ax_flops.axhline(flops, color="grey", linestyle=":", linewidth=1.5)
    ax_flops.annotate(f"pretraining {flops:.2g}", (0.01, flops), xycoords=("axes fraction", "data"),
                      textcoords="offset points", xytext=(2, 3), fontsize=7, color="grey")
  ax_error.set_ylabel("mean error over tasks (mean ± std over seeds)")
  ax_error.set_title("error vs examples per class")
  ax_flops.set_yscale("log")
  ax_flops.set_ylabel("FLOPs of the run (training + prequential scoring)")
  ax_flops.set_title("compute of the run (dotted: the pretraining it starts from)")
  for ax in (ax_error, ax_flops):
    ax.set_xscale("log")
    ax.set_xlabel("training examples per class (mean over tasks)")
    ax.grid(alpha=0.3)
  handles, labels = ax_error.get_legend_handles_labels()
  legend_height = (0.22 * rows + 0.15) / height
  fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
  fig.tight_layout(rect=(0, legend_height, 1, 1))
  return save_figure(fig, Path(output))


def format_table(table) -> str:
  lines = ["| cell | examples/class | seeds | mean error (± std) | train FLOPs | pretraining FLOPs | total FLOPs |",
           "|---|---|---|---|---|---|---|"]
  for _, row in table.iterrows():
    std = "" if math.isnan(row["error_std"]) else f" ± {row['error_std']:.3f}"
    lines.append(f"| {row['cell']}, {row['shots']}/class | {row['examples_per_class']:.1f} | {row['seeds']} | "
                 f"{row['error']:.3f}{std} | {row['train_flops']:.3g} | {row['pretraining_flops']:.3g} | "
                 f"{row['total_flops']:.3g} |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("workdirs", nargs="+")
  parser.add_argument("-o", "--output", required=True, help="the figure (png, pdf, svg, ...)")
  parser.add_argument("--csv", help="also write one row per run to this CSV file")
  args = parser.parse_args(argv)
  runs = compare.load_runs(args.workdirs)
  if args.csv:
    write_text(Path(args.csv), cells(runs).to_csv(index=False), "--csv")
  print(format_table(summary(cells(runs))))
  print(f"plot: {plot_shots(runs, args.output)}")


if __name__ == "__main__":
  main()
