"""`nevis plot`: error against cumulative training compute, and error along the stream's timeline."""
from __future__ import annotations

from pathlib import Path

from nevis.errors import UserError
from nevis.report import Results

# What matplotlib's Agg canvas writes, by file extension.
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


def plot_runs(runs: list[Results], output: str | Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np

  fig, (ax_flops, ax_time) = plt.subplots(1, 2, figsize=(12, 4.5))
  for results in runs:
    t = results.tasks
    if not len(t):
      continue
    running_mean = np.cumsum(t["error"].to_numpy()) / np.arange(1, len(t) + 1)
    flops = t["cumulative_train_flops"].to_numpy()
    ax_flops.plot(flops, running_mean, marker="o", ms=3, label=results.label)
    ax_time.plot(t["position"], t["error"], marker="o", ms=3, label=results.label)
  ax_flops.set_xscale("log")
  ax_flops.set_xlabel("cumulative training FLOPs")
  ax_flops.set_ylabel("average error over tasks so far")
  ax_flops.set_title("error vs compute")
  if runs and len(runs[0].tasks):
    t = runs[0].tasks
    ax_time.set_xticks(t["position"])
    ax_time.set_xticklabels([f"{n} ({y})" for n, y in zip(t["task"], t["year"])], rotation=60, ha="right", fontsize=7)
  ax_time.set_ylabel("error")
  ax_time.set_title("per-task error along the stream")
  for ax in (ax_flops, ax_time):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.tight_layout()
  output = Path(output)
  # Written aside and renamed, so a failed write leaves no half picture; the format is the extension's.
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
