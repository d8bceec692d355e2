"""The icl learner's meta-pretraining mode: it trains on episodes, records what it measured, and a killed
pretraining resumes bitwise; a checkpoint of another config is refused."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nevis.errors import ConfigError, LearnerError
from nevis.learners.icl import IclLearner
from tests.learners.icl.icl_fixtures import (
  CountingJit,
  colour_split,
  init_context,
  leaves_equal,
  make_task,
  tiny_config,
)
from tests.learners.icl.test_icl_checkpoints import Killed, KillingHook

# 12 classes, more than label_vocab 4: the task is scored by the prototype route after pretraining.
META = dict(mode="meta_pretrain", num_steps=5, meta_ways=[2, 4], meta_shots=[1, 3], learning_rates=[0.01])


def _pretrain(learner, hook=None, jit=None):
  task = make_task("many", colour_split(60, 12, 2), colour_split(48, 12, 102), num_classes=12, seed=2,
                   **({"jit": jit} if jit else {}))
  if hook is not None:
    task = dataclasses.replace(task, checkpoint=hook)
  return learner.train(task, learner.init(init_context())), task.notes


def test_meta_pretraining_trains_on_episodes_and_records_what_it_measured():
  learner = IclLearner(**tiny_config(**META))
  start = learner.init(init_context())
  jit = CountingJit()
  state, notes = _pretrain(learner, jit=jit)
  assert jit.calls["icl_meta_train_step"] == 5 and jit.calls["icl_episode_log_probs"] == 8  # 64 dev episodes, 8 a call
  assert not leaves_equal(state["model"], start["model"])
  assert notes["mode"] == "meta_pretrain" and notes["route"] == "prototype"
  assert [end for end, _ in notes["train_loss_curve"]] == [1, 2, 3, 4, 5]  # 20 bins over 5 steps: one per step
  assert all(np.isfinite(loss) and loss > 0 for _, loss in notes["train_loss_curve"])
  # The chance error of 2- to 4-way episodes lies between 1/2 and 3/4.
  assert 0.5 < notes["dev_episode_chance"] < 0.75 and 0.0 <= notes["dev_episode_error"] <= 1.0
  assert set(state["tasks"]["many"]) == {"route", "means"}


def test_a_killed_meta_pretraining_resumes_bitwise(tmp_path):
  learner = IclLearner(**tiny_config(**META))
  uninterrupted, notes = _pretrain(learner, KillingHook(tmp_path / "a", 2))
  with pytest.raises(Killed):
    _pretrain(learner, KillingHook(tmp_path / "b", 2, kill_after=2))  # killed after step 4's save
  jit = CountingJit()
  resumed, resumed_notes = _pretrain(IclLearner(**tiny_config(**META)), KillingHook(tmp_path / "b", 2), jit)
  assert jit.calls["icl_meta_train_step"] == 1  # step 5 only
  assert leaves_equal(resumed, uninterrupted)
  assert resumed_notes == notes  # the loss curve too: the sums of the first 4 steps came from the checkpoint


@pytest.mark.parametrize("other", [{"num_steps": 3}, {"width": 8}, {"mode": "icl_ft"}])
def test_a_checkpoint_of_another_config_is_a_learner_error(tmp_path, other):
  with pytest.raises(Killed):
    _pretrain(IclLearner(**tiny_config(**META)), KillingHook(tmp_path, 2, kill_after=1))
  changed = IclLearner(**tiny_config(**{**META, **other}))
  with pytest.raises(LearnerError, match="in-task checkpoint of 'many'") as error:
    _pretrain(changed, KillingHook(tmp_path, 2))
  assert "\n" not in str(error.value)


@pytest.mark.parametrize("options, message", [
    ({"meta_ways": [2, 5]}, "at most label_vocab"),
    ({"meta_ways": [3, 2]}, r"\[min, max\]"),
    ({"meta_shots": [1, 2, 3]}, r"\[min, max\]"),
    ({"learning_rates": [0.01, 0.1]}, "trains once"),
])
def test_meta_pretraining_options_are_checked(options, message):
  with pytest.raises(ConfigError, match=message):
    IclLearner(**tiny_config(**{**META, **options}))


def test_the_prototype_loss_classifies_queries_by_the_nearest_class_mean():
  from nevis.learners.icl_steps import _prototype_loss

  context = np.array([[[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [9.0, 9.0]]], np.float32)  # (P=1, k=4, F=2)
  context_labels = np.array([[0, 0, 1, 2]], np.int32)  # means: class 0 (1, 0), class 1 (0, 3); class 2 masked
  queries = np.array([[[1.0, 1.0]]], np.float32)  # squared distances 1 and 5
  loss = float(_prototype_loss(context, queries, context_labels, np.array([[1]], np.int32), np.int32(2), 4))
  assert loss == pytest.approx(-np.log(np.exp(-5) / (np.exp(-1) + np.exp(-5))), rel=1e-5)
  loss_three = float(_prototype_loss(context, queries, context_labels, np.array([[1]], np.int32), np.int32(3), 4))
  far = np.exp(-(8**2 + 8**2))  # class 2's mean (9, 9) is 128 away
  assert loss_three == pytest.approx(-np.log(np.exp(-5) / (np.exp(-1) + np.exp(-5) + far)), rel=1e-5)
