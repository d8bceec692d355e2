"""`nevis plot`: the trade-off figure of one or more configurations (runs grouped over seeds, `nevis.compare`).

- Panel 1 (top left), the trade-off: one point per configuration at (training FLOPs of the whole stream,
  mean error over tasks), log x, bars = 95 % Student-t interval over seeds (and the seeds' FLOPs range
  where they differ); the Pareto front (less compute and less error are better) as a step line with its
  members labelled; chance (the mean over tasks of 1 - 1/classes) dashed.
- Panel 2 (bottom, full width): each task's error along the stream, per configuration (mean over seeds,
  same bars), chance per task as grey dashes; tick labels "task (year)" over "n=" evaluation examples.
- Panel 3 (top right): the error matrix (error on task j after training task i, mean over seeds) of each
  configuration run with `evaluate_past`, up to four (the Pareto front's first); all are in the `--data` file.
Labels never overlap: they are measured as rendered (`nevis.plot_labels`). `--data FILE.csv` writes every
plotted value, one row each, with the panel it is in.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from nevis import compare
from nevis.errors import UserError
from nevis.metrics import tradeoff
from nevis.metrics.chance import chance_error
from nevis.outputs import save_figure, write_text
from nevis.plot_labels import fit_tick_labels, place_point_labels, wrap_label
from nevis.report import Results

# What matplotlib's Agg canvas writes, by file extension; `--format` offers the three that matter.
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")
FORMAT_CHOICES = ("svg", "pdf", "png")
MAX_MATRICES = 4
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def plot_runs(runs: list[Results], output: str | Path, *, fmt: str | None = None,
              data: str | Path | None = None) -> Path:
  """Draws the figure of `runs` into `output` (format: `fmt`, else the extension) and, with `data`, the
  plotted values as CSV; both written aside and renamed, so a failure leaves no half file."""
  import matplotlib

  matplotlib.use("Agg")

  configurations = compare.group(runs)
  fig, rows = draw(configurations)
  output = save_figure(fig, Path(output), fmt)
  if data is not None:
    write_text(Path(data), pd.DataFrame(rows).to_csv(index=False), "--data")
  return output


def draw(configurations: list[compare.Configuration]):
  """(figure, the plotted values as rows)."""
  import matplotlib.pyplot as plt

  per_task = compare.per_task_frame(configurations)
  tasks = _task_order(per_task)
  width = max(13.0, min(40.0, 6.0 + 0.24 * len(tasks)))
  fig = plt.figure(figsize=(width, 10.5), layout="constrained")
  grid = fig.add_gridspec(2, 1, height_ratios=(1.0, 1.0))
  # The trade-off keeps about 7 inches however wide the stream makes the figure; the matrices get the rest.
  top = grid[0].subgridspec(1, 2, width_ratios=(7.0, width - 7.0))
  ax_trade, ax_tasks = fig.add_subplot(top[0]), fig.add_subplot(grid[1])
  styles = _styles(configurations)
  rows: list[dict] = []
  front = _tradeoff_panel(ax_trade, configurations, styles, tasks, rows)
  _tasks_panel(ax_tasks, configurations, per_task, tasks, styles, rows)
  on_front = {label for _, _, label, _ in front}
  _matrices_panel(fig, top[1], sorted(configurations, key=lambda c: c.label not in on_front), rows, width - 7.0)
  handles, labels = ax_trade.get_legend_handles_labels()
  fig.legend(handles, labels, loc="outside lower center", ncol=min(4, max(1, len(labels))), fontsize=8, frameon=False)
  fig.canvas.draw()
  fig.set_layout_engine("none")  # the layout is final: labels placed now stay where they were measured
  place_point_labels(ax_trade, front, obstacles=[t.get_window_extent() for t in ax_trade.texts])
  return fig, rows


def _styles(configurations: list[compare.Configuration]) -> dict[str, tuple[str, str]]:
  """(colour, marker) per configuration: one colour per family (configurations that differ only in their
  compute budget), one marker per member of a family."""
  styles = {}
  for i, family in enumerate(compare.families(configurations)):
    for k, c in enumerate(family):
      styles[c.label] = (f"C{i % 10}", MARKERS[(k + (i // 10)) % len(MARKERS)])
  return styles


def _task_order(per_task: pd.DataFrame) -> pd.DataFrame:
  """One row per task of any configuration, in stream order: its year, classes, evaluation size, chance."""
  if not len(per_task):
    return pd.DataFrame(columns=["task", "year", "num_classes", "eval_n", "chance"])
  first = per_task.sort_values("position", kind="stable").drop_duplicates("task")
  sizes = per_task.groupby("task")["eval_n"].agg(lambda s: "/".join(str(int(v)) for v in sorted(s.dropna().unique())))
  return pd.DataFrame({
      "task": first["task"].to_numpy(), "year": first["year"].to_numpy(),
      "num_classes": first["num_classes"].to_numpy(),
      "eval_n": [sizes.get(t) or "?" for t in first["task"]],
      "chance": [chance_error(int(k), multi_label=kind == "multi_label") for k, kind in
                 zip(first["num_classes"], first["kind"])],
  })


def _tradeoff_panel(ax, configurations, styles, tasks: pd.DataFrame, rows: list[dict]) -> list:
  """Draws panel 1; returns the Pareto members' (x, y, label, colour) for labelling."""
  points = []
  for c in configurations:
    flops = [r.summary()["total_train_flops"] for r in c.used]
    points.append((c, float(np.mean(flops)), min(flops), max(flops), c.error()))
  drawn = [p for p in points if p[1] > 0 and not math.isnan(p[4].mean)]  # on a log axis, with an error
  front_index = tradeoff.pareto_front([p[1] for p in drawn], [p[4].mean for p in drawn]) if drawn else []
  on_front = {drawn[i][0].label for i in front_index}
  for c, x, low, high, error in points:
    rows.append({"panel": "tradeoff", "configuration": c.label, "seeds": error.count, "train_flops": x,
                 "train_flops_min": low, "train_flops_max": high, "error": error.mean, "error_ci95": error.half_width,
                 "pareto": int(c.label in on_front)})
    if x <= 0 or math.isnan(error.mean):
      continue
    colour, marker = styles[c.label]
    yerr = None if math.isnan(error.half_width) else [[error.half_width], [error.half_width]]
    xerr = [[x - low], [high - x]] if high > low else None
    ax.errorbar([x], [error.mean], yerr=yerr, xerr=xerr, fmt=marker, color=colour, ms=7, capsize=3, lw=1,
                label=c.label, zorder=3)
  for family in compare.families([p[0] for p in drawn]):  # a configuration at several budgets: its curve
    if len(family) > 1:
      line = sorted((p[1], p[4].mean) for p in drawn if p[0] in family)
      ax.plot(*zip(*line), color=styles[family[0].label][0], lw=0.9, ls=":", alpha=0.8, zorder=1)
  if len(front_index):
    xs = [drawn[i][1] for i in front_index]
    ys = [drawn[i][4].mean for i in front_index]
    ax.step(xs, ys, where="post", color="0.25", lw=1, ls="-", alpha=0.7, zorder=2, label="Pareto front")
  chance = float(np.nanmean(tasks["chance"])) if len(tasks) and np.isfinite(tasks["chance"]).any() else math.nan
  if not math.isnan(chance):
    ax.axhline(chance, color="0.5", ls="--", lw=1, zorder=1, label="chance (mean of 1 − 1/classes)")
    rows.append({"panel": "tradeoff", "configuration": "chance", "error": chance})
  ax.set_xscale("log")
  tops = [p[4].high if not math.isnan(p[4].half_width) else p[4].mean for p in drawn] + [chance]
  top = np.nanmax(tops) if np.isfinite(tops).any() else 1.0
  ax.set_ylim(0, min(1.05, top * 1.12 + 0.02))
  if drawn:
    xs = [p[1] for p in drawn] + [p[2] for p in drawn] + [p[3] for p in drawn]
    lo, hi = min(xs) / 2.5, max(xs) * 2.5
    if 0 < lo and math.floor(math.log10(hi)) < math.ceil(math.log10(lo)):  # no decade inside: no labelled tick
      below, above = 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))
      lo, hi = (below / 1.5, hi) if math.log10(lo / below) <= math.log10(above / hi) else (lo, above * 1.5)
    ax.set_xlim(lo, hi)
  ax.set_xlabel("training FLOPs, whole stream (mean over seeds)")
  ax.set_ylabel("mean error over tasks")
  ax.set_title("error vs training compute (bars: 95 % interval over seeds)", fontsize=10)
  ax.grid(alpha=0.3, which="major")
  ax.minorticks_off()  # minor labels of a log axis collide; the decades are enough
  zero = [p[0].label for p in points if p[1] <= 0]
  if zero:
    ax.text(0.01, 0.01, "0 FLOPs, not on a log axis: " + ", ".join(zero), transform=ax.transAxes, fontsize=7,
            va="bottom", ha="left", color="0.3")
  styles_of = {c.label: styles[c.label][0] for c in configurations}
  return [(drawn[i][1], drawn[i][4].mean, drawn[i][0].label, styles_of[drawn[i][0].label]) for i in front_index]


def _tasks_panel(ax, configurations, per_task: pd.DataFrame, tasks: pd.DataFrame, styles, rows: list[dict]) -> None:
  position = {name: i for i, name in enumerate(tasks["task"])}
  count = len(configurations)
  for k, c in enumerate(configurations):
    mine = per_task[per_task["configuration"] == c.label]
    if not len(mine):
      continue
    dodge = (k - (count - 1) / 2) * min(0.12, 0.6 / max(count, 1))
    xs = np.array([position[t] for t in mine["task"]]) + dodge
    half = mine["error_ci95"].to_numpy(dtype=float)
    colour, marker = styles[c.label]
    ax.errorbar(xs, mine["error"], yerr=np.where(np.isnan(half), 0.0, half), fmt=f"{marker}-", color=colour, ms=4,
                lw=1, capsize=2, label=c.label)
    for t in mine.itertuples():
      rows.append({"panel": "per_task", "configuration": c.label, "position": position[t.task], "task": t.task,
                   "year": t.year, "eval_n": t.eval_n, "num_classes": t.num_classes, "error": t.error,
                   "error_ci95": t.error_ci95, "seeds": t.seeds,
                   "chance": float(tasks.loc[position[t.task], "chance"])})
  for i, chance in enumerate(tasks["chance"]):
    if not math.isnan(chance):
      ax.hlines(chance, i - 0.42, i + 0.42, colors="0.55", linestyles="--", lw=1,
                label="chance (1 − 1/classes)" if i == 0 else None)
  ax.set_xlim(-0.6, len(tasks) - 0.4)
  ax.set_ylim(0, 1.02)
  ax.set_ylabel("error (mean over seeds)")
  ax.set_title("per-task error along the stream (n = evaluation examples)", fontsize=10)
  ax.grid(alpha=0.3, axis="y")
  labels = [f"{t} ({y})\nn={n}" for t, y, n in zip(tasks["task"], tasks["year"], tasks["eval_n"])]
  if labels:
    fit_tick_labels(ax, list(range(len(labels))), labels)


def _matrices_panel(fig, cell, configurations, rows: list[dict], inches: float) -> None:
  matrices = [(c, m) for c in configurations if (m := _mean_matrix(c)) is not None]
  for c, matrix in matrices:
    for i, after in enumerate(matrix.index):
      for j, task in enumerate(matrix.columns):
        if not math.isnan(matrix.iat[i, j]):
          rows.append({"panel": "error_matrix", "configuration": c.label, "after_position": i, "after_task": after,
                       "position": j, "task": task, "error": float(matrix.iat[i, j])})
  if not matrices:
    ax = fig.add_subplot(cell)
    ax.axis("off")
    ax.text(0.5, 0.5, "error matrix: none of these runs scored past tasks\n(run with evaluate_past: true)",
            ha="center", va="center", fontsize=9, color="0.35", transform=ax.transAxes)
    return
  shown = matrices[:MAX_MATRICES]
  columns = len(shown) if inches >= 4.2 * len(shown) else min(2, len(shown))  # one row when they fit
  sub = cell.subgridspec(math.ceil(len(shown) / columns), columns)
  chars = max(12, int((inches - 1.2) / columns * 72 / (0.62 * 8)))  # title characters per line at 8 pt
  image = None
  for k, (c, matrix) in enumerate(shown):
    ax = fig.add_subplot(sub[k // columns, k % columns])
    image = ax.imshow(np.ma.masked_invalid(matrix.to_numpy()), vmin=0, vmax=1, cmap="viridis", aspect="equal")
    n = len(matrix)
    step = max(1, math.ceil(n / (12 if len(shown) == 1 else 6)))
    ticks = list(range(0, n, step))
    names = n <= (12 if len(shown) == 1 else 6)
    ax.set_xticks(ticks, [matrix.columns[i] if names else str(i) for i in ticks], rotation=90 if names else 0,
                  fontsize=7)
    ax.set_yticks(ticks, [matrix.index[i] if names else str(i) for i in ticks], fontsize=7)
    ax.set_title(wrap_label(c.label, chars), fontsize=8)
    ax.set_xlabel("error on task", fontsize=7)
    ax.set_ylabel("after training", fontsize=7)
    ax.set_facecolor("0.92")  # not measured (tasks not seen yet)
  more = len(matrices) - len(shown)
  fig.colorbar(image, ax=fig.axes[-len(shown):], shrink=0.8,
               label="error" + (f"\n({more} more configurations' matrices in --data)" if more else ""))


def _mean_matrix(c: compare.Configuration) -> pd.DataFrame | None:
  """The error matrix of a configuration run with evaluate_past, averaged over its seeds (same tasks)."""
  if not c.config.get("evaluate_past"):
    return None
  matrices = [r.error_matrix() for r in c.used if len(r.tasks)]
  if not matrices:
    return None
  first = matrices[0]
  same = [m.to_numpy() for m in matrices if list(m.index) == list(first.index)]
  stack = np.stack(same)
  counts = np.isfinite(stack).sum(axis=0)
  mean = np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)
  return pd.DataFrame(mean, index=first.index, columns=first.columns)


def plot_command(workdirs: list[str], output: str, *, fmt: str | None = None, data: str | None = None,
                 by_shots: bool = False) -> str:
  """`nevis plot`: checks the output files before loading anything, then draws (with `by_shots`, the low-data
  study's figure, `nevis.shots_plot`); returns what to print."""
  from nevis.outputs import CSV_FORMATS, checked_output

  if fmt is not None and not Path(output).suffix:
    output = f"{output}.{fmt}"  # `-o fig --format pdf` writes fig.pdf
  out = checked_output(output, PLOT_FORMATS, "-o")
  suffix = out.suffix.lower().lstrip(".")
  if fmt is not None and suffix != fmt:
    raise UserError(f"-o {output!r} has extension .{suffix} but --format is {fmt}; make them agree, e.g. "
                    f"-o {str(out.with_suffix('.' + fmt))!r}")
  data_path = checked_output(data, CSV_FORMATS, "--data") if data else None
  runs = compare.load_runs(workdirs)
  if by_shots:
    from nevis.shots_plot import plot_shots

    text = f"plot: {plot_shots(runs, out, data=data_path)}"
  else:
    text = f"plot: {plot_runs(runs, out, fmt=fmt, data=data_path)}"
  return text + (f"\ndata: {data_path}" if data_path else "")
