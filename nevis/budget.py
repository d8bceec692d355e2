"""Compute budgets: `compute_budget: {flops: 1e12, per: task}` in a run's config, enforced by the meter.

The budget bounds *training* FLOPs, counted as everywhere in nevis (`nevis.metrics.flops`: one
multiply-add = 2 FLOPs, XLA's cost analysis, loops multiplied out):

- `per: task` — each task's training may charge at most `flops`;
- `per: stream` — the whole run's training may charge at most `flops` (what `learner.init` charged
  counts as spent; later tasks get what earlier ones left).

While `learner.train` runs, a metered call (a `task.jit` function or an eager JAX operation) whose FLOPs
would take the charged total past the allowance is refused before it runs: it raises
`nevis.BudgetExhausted`, which the learner catches to return its best state. So the recorded training
FLOPs never pass the budget. Blockwise prequential scoring fits the learner on prefixes of the task;
each of those fits is given the allowance the task's training has (charged as prequential compute, so
it spends none of it), so the code length is that of the budgeted learner. Evaluation is not budgeted.
"""
from __future__ import annotations

import dataclasses

from nevis.options import Options, option

PER = ("task", "stream")


@dataclasses.dataclass(frozen=True)
class ComputeBudget(Options):
  """Training FLOPs a learner may spend, per task or for the whole stream."""

  flops: float = dataclasses.field(metadata={
      "doc": "training FLOPs allowed (one multiply-add = 2 FLOPs)", "minimum": 0})
  per: str = option("task", "what the FLOPs are for: each task's training, or the whole stream's", choices=PER)

  def allowance(self, spent_in_task: float, spent_in_run: float) -> float:
    """FLOPs the learner may still charge, given its training FLOPs so far in this task and in the run."""
    spent = spent_in_task if self.per == "task" else spent_in_run
    return max(self.flops - spent, 0.0)

  def stream_total(self, num_tasks: int) -> float:
    """The budget of a whole run of `num_tasks` tasks (for comparing runs at several budgets)."""
    return self.flops * num_tasks if self.per == "task" else self.flops

  def describe_short(self) -> str:
    """'1e9/task' or '5e10/stream'."""
    return f"{short_number(self.flops)}/{self.per}"


def short_number(value: float) -> str:
  """1e9 -> '1e9', 2.5e10 -> '2.5e10', 300 -> '300', 0.001 -> '0.001': three significant digits."""
  text = f"{value:.3g}"
  if "e" in text:
    mantissa, exponent = text.split("e")
    text = f"{mantissa}e{int(exponent)}"
  return text


def exhausted_message(budget: ComputeBudget, category: str, needed: float, spent: float, allowance: float) -> str:
  """The one line of a refusal: what was asked, what is left, and what to do."""
  which = "training" if category == "train" else f"{category} fit (given the task's training allowance)"
  return (f"compute_budget of {budget.flops:.4g} training FLOPs per {budget.per} reached in {which}: a "
          f"call of {needed:.4g} FLOPs would pass the allowance of {allowance:.4g} ({spent:.4g} spent); catch "
          "nevis.BudgetExhausted in the learner's train and return its best state, or raise compute_budget.flops")
