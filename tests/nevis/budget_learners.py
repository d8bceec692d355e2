"""Learners for the compute-budget tests (imported with `--import tests.nevis.budget_learners`)."""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

import nevis
from nevis.errors import BudgetExhausted
from nevis.options import option

from .linear_learner import HEAD, LinearLearner, _train_step


@nevis.register_learner("test_budgeted")
class BudgetedLearner(LinearLearner):
  """`test_linear` that stops where the budget refuses a step and keeps the parameters it has."""

  @dataclasses.dataclass(frozen=True)
  class Config(LinearLearner.Config):
    eager: bool = option(False, "one eager JAX multiply per step besides the compiled step")

  def train(self, task, state):
    k = task.info.num_classes
    mask = np.arange(HEAD) < k
    step_fn = task.jit(_train_step)
    params = {"w": jnp.asarray(state["w"]), "b": jnp.asarray(state["b"])}
    lr = np.float32(self.config.learning_rate)
    done = 0
    try:
      for step in range(self.config.num_steps):
        batch = task.train.batch_at(step, self.config.batch_size, seed=7)
        if self.config.eager:  # one eager JAX operation per step, metered one execution at a time
          params = {"w": params["w"] * jnp.float32(1.0), "b": params["b"]}
        params, _ = step_fn(params, batch["images"], batch["labels"], mask, lr)
        done += 1
    except BudgetExhausted as e:
      task.notes["refused_flops"] = e.needed
    task.notes["steps"] = done
    heads = {**state["heads"], task.info.name: {"w": np.asarray(params["w"]), "b": np.asarray(params["b"])}}
    return {"w": np.asarray(params["w"]), "b": np.asarray(params["b"]), "heads": heads}


@nevis.register_learner("test_budget_ignored")
class BudgetIgnoredLearner(LinearLearner):
  """`test_linear`, which does not catch BudgetExhausted."""
