"""The `icl` learner: modes, the no-update guarantee of icl_only, every backbone, the fallback routes."""
from __future__ import annotations

import jax
import numpy as np
import pytest

from nevis.errors import ConfigError, LearnerError
from nevis.learners.icl import ROUTES, IclLearner
from nevis.meter import ComputeMeter
from nevis.registry import LEARNERS
from tests.learners.icl.icl_fixtures import (
  CountingJit,
  channel_split,
  colour_split,
  colour_task,
  init_context,
  leaves_equal,
  make_task,
  tiny_config,
)


def _predict(learner, task, state, images) -> np.ndarray:
  return np.concatenate([learner.predict(task.for_prediction(), state, images[i:i + 16])
                         for i in range(0, len(images), 16)])


def test_registered_and_config_errors():
  assert LEARNERS.get("icl") is IclLearner
  with pytest.raises(ConfigError, match="mode"):
    IclLearner(mode="icl_plus")
  with pytest.raises(ConfigError, match="select_by"):
    IclLearner(select_by="test")
  with pytest.raises(ConfigError, match="d_input"):
    IclLearner(sequence={"d_input": 3})
  with pytest.raises(ConfigError, match="mixer"):
    IclLearner(**tiny_config("attention"))


def test_icl_only_leaves_weights_bitwise_unchanged_but_does_metered_work():
  learner = IclLearner(**tiny_config(mode="icl_only"))
  meter = ComputeMeter()
  start = learner.init(init_context(meter.jit))
  snapshot = jax.tree.map(np.array, start["model"])
  before = meter.totals.flops["train"]
  task = colour_task("a", 3, jit=meter.jit)
  state = learner.train(task, start)
  assert leaves_equal(state["model"], snapshot)
  assert meter.totals.flops["train"] > before  # contexts encoded and the dev error measured, all metered
  assert 0.0 <= task.notes["dev_error"] <= 1.0 and task.notes["route"] == "icl"
  entry = state["tasks"]["a"]
  assert ROUTES[int(entry["route"])] == "icl"
  assert np.asarray(entry["images"]).shape == (2, 6, 8, 8, 3) and np.asarray(entry["perm"]).shape == (2, 4)
  # A second task still changes nothing.
  state = learner.train(colour_task("b", 2, seed=1, jit=meter.jit), state)
  assert leaves_equal(state["model"], snapshot)


def test_icl_ft_and_ft_only_update_and_carry_weights():
  for mode, changed in (("icl_ft", "sequence"), ("ft_only", "encoder")):
    learner = IclLearner(**tiny_config(mode=mode))
    start = learner.init(init_context())
    first = learner.train(colour_task("a", 3), start)
    assert not leaves_equal(first["model"]["params"][changed], start["model"]["params"][changed])
    if mode == "ft_only":  # the head route never touches the sequence model
      assert leaves_equal(first["model"]["params"]["sequence"], start["model"]["params"]["sequence"])
    second = learner.train(colour_task("b", 2, seed=1), first)
    assert set(second["tasks"]) == {"a", "b"}
    # The past task is still answered, with the current weights.
    logits = _predict(learner, colour_task("a", 3), second, colour_split(20, 3, 5).images)
    assert logits.shape == (20, 3) and np.isfinite(logits).all()


def test_prediction_encodes_each_context_once_per_weights():
  jit = CountingJit()
  learner = IclLearner(**tiny_config(mode="icl_only"))
  task = colour_task("a", 3, jit=jit)
  state = learner.train(task, learner.init(init_context(jit)))
  state = jax.tree.map(np.asarray, state)  # as the runner's checkpoint round trip gives it back
  jit.calls.clear()
  _predict(learner, task, state, colour_split(48, 3, 5).images)  # three batches of 16
  assert jit.calls["icl_context_cache"] == 1 and jit.calls["icl_score"] == 3


@pytest.mark.parametrize("mixer", ["softmax", "fox", "fox_pro", "lru"])
@pytest.mark.parametrize("mlp", ["dense"])  # PEER backbones run in test_icl_on_mini.py
def test_every_mixer_and_mlp_trains_and_predicts(mixer, mlp):
  learner = IclLearner(**tiny_config(mixer, mlp, mode="icl_ft"))
  start = learner.init(init_context())
  task = colour_task("a", 3)
  state = learner.train(task, start)
  assert not leaves_equal(state["model"]["params"]["sequence"], start["model"]["params"]["sequence"])
  logits = _predict(learner, task, state, colour_split(20, 3, 5).images)
  assert logits.shape == (20, 3) and logits.dtype == np.float32 and np.isfinite(logits).all()
  assert task.notes["selection"]["chosen"] == {"learning_rate": 0.01}


def test_vit_encoder_runs():
  learner = IclLearner(**tiny_config("fox", encoder="vit", vit={"d_model": 8, "num_layers": 1, "num_heads": 2}))
  meter = ComputeMeter()
  state = learner.init(init_context(meter.jit))
  assert meter.totals.flops["train"] > 0  # the initialisation is metered
  task = colour_task("a", 3, jit=meter.jit)
  state = learner.train(task, state)
  assert _predict(learner, task, state, colour_split(8, 3, 5).images).shape == (8, 3)


@pytest.mark.parametrize("mode, route", [("icl_ft", "head"), ("ft_only", "head"), ("icl_only", "prototype")])
def test_more_classes_than_the_vocabulary_and_multi_label(mode, route):
  learner = IclLearner(**tiny_config(mode=mode, label_vocab=4))
  state = learner.init(init_context())
  wide = colour_task("wide", 6)  # 6 classes > 4 label ids
  state = learner.train(wide, state)
  assert wide.notes["route"] == route
  logits = _predict(learner, wide, state, colour_split(20, 6, 5).images)
  assert logits.shape == (20, 6) and np.isfinite(logits).all()

  multi = make_task("multi", channel_split(32, 0), channel_split(16, 1), num_classes=3, multi_label=True)
  state = learner.train(multi, state)
  assert multi.notes["route"] == route
  logits = _predict(learner, multi, state, channel_split(20, 2).images)
  assert logits.shape == (20, 3) and np.isfinite(logits).all()


def test_prototype_route_scores_nearest_class_mean():
  learner = IclLearner(**tiny_config(mode="icl_only", label_vocab=2))
  task = colour_task("wide", 3)  # 3 classes > 2 ids: prototypes
  state = learner.train(task, learner.init(init_context()))
  means = np.asarray(state["tasks"]["wide"]["means"])
  images = colour_split(10, 3, 5).images
  features = learner._features(jax.jit, state["model"], images)
  expected = -((features[:, None] - means[None]) ** 2).sum(-1)
  np.testing.assert_allclose(_predict(learner, task, state, images), expected, rtol=1e-5, atol=1e-6)


def test_unknown_task_is_an_error():
  learner = IclLearner(**tiny_config())
  with pytest.raises(LearnerError, match="not trained"):
    learner.predict(colour_task("x", 3).for_prediction(), learner.init(init_context()), np.zeros((1, 8, 8, 3), np.uint8))
