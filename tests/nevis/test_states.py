"""`LearnerStates.checkpoint_while`: the state written while the learner is scored gives what `checkpoint`
then scoring gives, and the read-back is what the run goes on with."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevis import checkpoints, states as states_lib
from nevis.meter import ComputeMeter
from nevis.states import LearnerStates
from nevis.task import Task, TaskInfo, TaskKind


def a_task() -> Task:
  info = TaskInfo("colours", "colours", 2000, TaskKind.SINGLE_LABEL, ("red", "blue"), (4, 4, 3))
  return Task(info, lambda split: None)


def a_state() -> dict:
  return {"weights": jnp.arange(4.0), "steps": np.int64(7), "history": (np.ones(2), 0.5)}


class Scorer:
  """Scores a state by its weights, charging the meter as an evaluator's predictions would."""

  def __init__(self, meter: ComputeMeter):
    self.meter, self.seen = meter, []

  def __call__(self, state):
    self.seen.append(state)
    self.meter.totals.flops["eval"] += 10.0
    return [float(np.sum(np.asarray(state["weights"])))]


def test_scores_the_state_as_read_back_while_it_is_written(tmp_path):
  states, meter = LearnerStates(tmp_path, "test"), ComputeMeter()
  score = Scorer(meter)
  state, scores = states.checkpoint_while(0, a_task(), a_state(), meter, score)
  read_back = checkpoints.load_tree(tmp_path / "checkpoints" / "state_0")
  assert checkpoints.identical(state, read_back)  # what the run goes on with
  assert len(score.seen) == 1 and score.seen[0] is state and scores == [6.0]
  assert meter.totals.flops["eval"] == 10.0
  sequential = LearnerStates(tmp_path / "other", "test").checkpoint(0, a_task(), a_state())
  assert checkpoints.identical(state, sequential)


def test_a_read_back_that_differs_is_scored_again_with_the_meter_rewound(tmp_path, monkeypatch):
  modelled = checkpoints.as_restored
  monkeypatch.setattr(checkpoints, "as_restored", lambda tree: {**modelled(tree), "weights": jnp.zeros(4)})
  states, meter = LearnerStates(tmp_path, "test"), ComputeMeter()
  score = Scorer(meter)
  state, scores = states.checkpoint_while(0, a_task(), a_state(), meter, score)
  assert len(score.seen) == 2 and score.seen[1] is state
  assert scores == [6.0] and checkpoints.identical(state, checkpoints.load_tree(tmp_path / "checkpoints" / "state_0"))
  assert meter.totals.flops["eval"] == 10.0  # the first scoring is not charged


def test_a_state_whose_round_trip_is_not_modelled_is_written_then_scored(tmp_path):
  states, meter = LearnerStates(tmp_path, "test"), ComputeMeter()
  score = Scorer(meter)
  state, _ = states.checkpoint_while(0, a_task(), {**a_state(), "key": jax.random.key(3)}, meter, score)
  assert score.seen == [state] and jax.random.key_data(state["key"]).tolist() == [0, 3]


def test_an_error_while_scoring_leaves_the_checkpoint_whole(tmp_path, monkeypatch):
  slow_save = checkpoints.save_tree

  def save_slowly(path, tree):
    import time

    time.sleep(0.5)  # still writing when the scoring fails
    slow_save(path, tree)

  monkeypatch.setattr(checkpoints, "save_tree", save_slowly)

  def failing_score(state):
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    LearnerStates(tmp_path, "test").checkpoint_while(0, a_task(), a_state(), ComputeMeter(), failing_score)
  assert checkpoints.identical(checkpoints.load_tree(tmp_path / "checkpoints" / "state_0"),
                               checkpoints.as_restored(a_state()))


def test_crash_point_after_the_state_comes_once_it_is_written(tmp_path, monkeypatch):
  seen = []
  monkeypatch.setattr(states_lib, "crash_point",
                      lambda name: seen.append((name, (tmp_path / "checkpoints" / "state_2").is_dir())))
  LearnerStates(tmp_path, "test").checkpoint_while(2, a_task(), a_state(), ComputeMeter(), lambda state: [])
  assert seen == [("after_state:2", True)]
