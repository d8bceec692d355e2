"""In-task checkpoints of the `icl` learner: a killed fine-tuning search resumes bitwise; a checkpoint from
another config is refused."""
from __future__ import annotations

import dataclasses

import pytest

from nevis.checkpoints import RunnerCheckpointHook
from nevis.errors import LearnerError
from nevis.learners.icl import IclLearner
from nevis.meter import ComputeMeter
from tests.learners.icl.icl_fixtures import CountingJit, colour_task, init_context, leaves_equal, tiny_config

# 2 candidates x 3 steps; with a checkpoint every 2 steps the saves come at steps 2 (candidate 0, step 2),
# 4 (candidate 1, step 1) and 6 (candidate 1, step 3).
CONFIG = dict(num_steps=3, learning_rates=[0.01, 0.03])
STEP_FUNCTION = {"icl_ft": "icl_train_step", "ft_only": "icl_head_train_step"}


class Killed(Exception):
  pass


class KillingHook(RunnerCheckpointHook):
  """The runner's hook (orbax round trip included) that dies right after its `kill_after`-th save."""

  def __init__(self, folder, every_steps: int, kill_after: int | None = None):
    super().__init__(folder, every_steps, ComputeMeter())
    self.kill_after, self.saves = kill_after, 0

  def save(self, tree) -> None:
    super().save(tree)
    self.saves += 1
    if self.saves == self.kill_after:
      raise Killed


def _train(learner, state, hook, jit=None):
  task = colour_task("b", 3, seed=1, **({"jit": jit} if jit else {}))
  task = dataclasses.replace(task, checkpoint=hook)
  return learner.train(task, state), task.notes


@pytest.mark.parametrize("mode", ["icl_ft", "ft_only"])  # the icl route and the head route
def test_killed_in_the_second_candidate_resumes_bitwise(tmp_path, mode):
  learner = IclLearner(**tiny_config(mode=mode, **CONFIG))
  start = learner.init(init_context())
  uninterrupted, notes = _train(learner, start, KillingHook(tmp_path / "a", 2))

  hook = KillingHook(tmp_path / "b", 2, kill_after=2)
  with pytest.raises(Killed):
    _train(learner, start, hook)
  jit = CountingJit()
  resumed, resumed_notes = _train(IclLearner(**tiny_config(mode=mode, **CONFIG)), start,
                                  KillingHook(tmp_path / "b", 2), jit)
  assert jit.calls[STEP_FUNCTION[mode]] == 2  # candidate 1's steps 2 and 3 only
  assert leaves_equal(resumed, uninterrupted)
  assert resumed_notes["selection"] == notes["selection"]
  assert len(notes["selection"]["dev_error"]) == 2


@pytest.mark.parametrize("other", [
    {"mode": "icl_ft"},  # another route
    {"learning_rates": [0.01, 0.03, 0.1]},  # another number of candidates
    {"width": 8},  # other parameter shapes
])
def test_checkpoint_of_another_config_is_a_learner_error(tmp_path, other):
  config = tiny_config(mode="ft_only", **CONFIG)
  learner = IclLearner(**config)
  hook = KillingHook(tmp_path, 2, kill_after=1)
  with pytest.raises(Killed):
    _train(learner, learner.init(init_context()), hook)
  changed = IclLearner(**{**config, **other})
  with pytest.raises(LearnerError, match=r"in-task checkpoint of 'b' does not match this config") as error:
    _train(changed, changed.init(init_context()), KillingHook(tmp_path, 2))
  assert "\n" not in str(error.value)
