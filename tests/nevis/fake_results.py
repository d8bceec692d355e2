"""Results of runs made up in memory, for golden tests of grouping, reports and plots (no training)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nevis.report import Results

TASKS = (("textures", 1998, 3), ("mnist", 2004, 10), ("faces", 2011, 2))


def fake_run(config: dict, errors: list[float], *, flops_per_task: float = 1e9, status: str = "complete",
             name: str = "run", eval_n: tuple[int, ...] = (108, 618, 23), matrix: bool = False,
             budget_bound: list[int] | None = None, wall_s: float = 2.0) -> Results:
  """A run of `len(errors)` tasks of TASKS with these errors, `flops_per_task` training FLOPs each."""
  n = len(errors)
  config = {"stream": "mini", "learner": "previous", "seed": 0, **config}
  rows = []
  for i, error in enumerate(errors):
    task, year, classes = TASKS[i % len(TASKS)]
    rows.append({
        "position": i, "task": task if i < len(TASKS) else f"{task}_{i}", "year": year + i // len(TASKS),
        "num_classes": classes, "kind": "single_label", "train_examples": 100, "num_examples": eval_n[i % len(eval_n)],
        "error": error, "log_loss": 0.5, "train_flops": flops_per_task, "cumulative_train_flops": flops_per_task * (i + 1),
        "prequential_flops": 0.0, "eval_flops": 1e6, "preq_bits": np.nan, "preq_bits_per_example": np.nan,
        "wall_time_s": wall_s, "budget_flops": np.nan if budget_bound is None else 1.0,
        "budget_bound": np.nan if budget_bound is None else budget_bound[i], "info": "{}",
    })
  tasks = pd.DataFrame(rows)
  evaluations = []
  for after in range(n):
    for position in (range(after + 1) if matrix else [after]):
      evaluations.append({"after_position": after, "position": position, "task": tasks["task"][position],
                          "error": errors[position] + (0.1 * (after - position)), "predictions_path": None})
  meta = {"config": config, "status": status, "seed": config["seed"]}
  return Results(Path(f"/runs/{name}"), meta, tasks, pd.DataFrame(evaluations), pd.DataFrame(columns=["task"]), n)
