"""The fine-tuning learners under a compute budget: the dev search stops where the meter refuses a call and
keeps its best model so far (the refusal is simulated here by a jit that raises after a number of calls)."""
from __future__ import annotations

import jax
import numpy as np

from nevis.errors import BudgetExhausted
from nevis.learners.finetuning import IndependentLearner

from .test_finetuning import TINY, ScriptedDev, colour_task, leaves_equal


class RefusingJit:
  """jax.jit that refuses the `limit`+1-th call of `name` (as the meter would at the budget) and keeps the
  outputs of every call it ran."""

  def __init__(self, name: str, limit: int):
    self.name, self.limit = name, limit
    self.calls: dict[str, int] = {}
    self.outputs: list = []

  def __call__(self, fn, **options):
    compiled = jax.jit(fn, **options)

    def call(*args):
      count = self.calls[fn.__name__] = self.calls.get(fn.__name__, 0) + 1
      if fn.__name__ == self.name and count > self.limit:
        raise BudgetExhausted("refused", needed=1.0, spent=0.0, allowance=0.0)
      out = compiled(*args)
      if fn.__name__ == self.name:
        self.outputs.append(jax.device_get(out))
      return out

    return call


def test_refused_before_any_dev_check_keeps_the_running_model():
  jit = RefusingJit("resnet_train_step", limit=3)
  learner = IndependentLearner(**TINY, num_steps=10, eval_every_steps=4, learning_rates=[0.05, 0.1])
  task = colour_task("a", 4, jit=jit)
  state = learner.train(task, learner.init(None))
  assert task.notes["budget"] == {"stopped_in_trial": 0, "steps_in_trial": 3}
  selection = task.notes["selection"]
  assert selection["kept_step"] == [3, -1] and selection["selected"] == 0
  assert np.isnan(selection["dev_error"]).all()  # no trial was scored
  params_after_3 = jit.outputs[-1][0]  # the train step returns (params, batch_stats, opt_state, loss)
  assert leaves_equal(state["backbones"]["a"]["params"], params_after_3["backbone"])
  assert leaves_equal(state["heads"]["a"], params_after_3["head"])
  assert np.isfinite(learner.predict(task.for_prediction(), state, task.dev.images[:8])).all()


def test_refused_in_the_second_trial_scores_it_by_its_checks_so_far():
  # Trial 0: checks after steps 4, 8, 10 (0.4, 0.3, 0.3). Trial 1's 7th step is refused, after one check (0.1).
  config = dict(TINY, num_steps=10, eval_every_steps=4, learning_rates=[0.05, 0.1])
  learner = ScriptedDev([0.4, 0.3, 0.3, 0.1], **config)
  task = colour_task("a", 4, jit=RefusingJit("resnet_train_step", limit=16))
  state = learner.train(task, learner.init(None))
  assert task.notes["budget"] == {"stopped_in_trial": 1, "steps_in_trial": 6}
  assert list(state["last_search"]["dev_error"]) == [0.3, 0.1] and state["last_search"]["selected"] == 1
  assert task.notes["selection"]["kept_step"] == [8, 4]
  assert leaves_equal(state["heads"]["a"], learner.checked[3]["params"]["head"])  # trial 1 after its step 4


def test_refused_when_a_new_trial_starts_keeps_the_finished_winner():
  config = dict(TINY, num_steps=6, eval_every_steps=3, learning_rates=[0.05, 0.1])
  learner = ScriptedDev([0.5, 0.2], **config)
  task = colour_task("a", 4, jit=RefusingJit("optimizer_init", limit=1))
  state = learner.train(task, learner.init(None))
  assert task.notes["budget"] == {"stopped_in_trial": 1, "steps_in_trial": 0}
  assert list(state["last_search"]["dev_error"][:1]) == [0.2] and np.isnan(state["last_search"]["dev_error"][1])
  assert state["last_search"]["selected"] == 0
  assert leaves_equal(state["heads"]["a"], learner.checked[1]["params"]["head"])  # trial 0's best: step 6
