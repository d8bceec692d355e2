"""Hyperparameter selection by dev error and by prequential code length (nevis.learners.selection)."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.learners import selection
from nevis.learners.finetuning import IndependentLearner
from nevis.learners.icl import IclLearner
from nevis.metrics.prequential import chunk_boundaries
from nevis.protocol import DataView
from nevis.task import SplitData
from tests.learners.icl.icl_fixtures import CountingJit, colour_split, colour_task, init_context, make_task, tiny_config

K = 4


def _constant_task(n_train: int, n_dev: int, jit):
  """Every label is class 0; images are irrelevant."""
  def split(n):
    return SplitData(np.zeros((n, 2, 2, 3), np.uint8), np.zeros((n,), np.int32))
  return make_task("constant", split(n_train), split(n_dev), num_classes=K, jit=jit)


def _fake_learner(jit):
  """A candidate {'p': p} is a model putting probability p on class 0; fitting and scoring are jitted."""
  def fake_fit(p, labels):
    return p + 0.0 * jnp.sum(labels)

  def fake_logits(p, images):
    rest = (1.0 - p) / (K - 1)
    row = jnp.log(jnp.concatenate([p[None], jnp.full((K - 1,), rest)]))
    return jnp.broadcast_to(row, (images.shape[0], K))

  fitted_sizes = []

  def fit(candidate, data: DataView):
    fitted_sizes.append(len(data))
    return jit(fake_fit)(jnp.float32(candidate["p"]), np.asarray(data.labels))

  def logits(model, data: DataView):
    return np.asarray(jit(fake_logits)(model, np.asarray(data.images)))

  return fit, logits, fitted_sizes


def test_prequential_picks_the_shortest_code_and_charges_every_candidate():
  jit = CountingJit()
  task = _constant_task(30, 10, jit)
  fit, logits, fitted_sizes = _fake_learner(jit)
  candidates = [{"p": 0.5}, {"p": 0.9}, {"p": 0.7}]
  result = selection.select(task, candidates, fit, logits, select_by="prequential", seed=3)
  bounds = chunk_boundaries(40)
  assert bounds == [10, 20, 40]
  # First chunk: the uniform code; the other 30 labels cost -ln p each.
  expected = [10 * math.log(K) + 30 * -math.log(c["p"]) for c in candidates]
  np.testing.assert_allclose(result.scores, expected, rtol=1e-5)
  assert result.selected == 1 and result.notes["chosen"] == {"p": 0.9}
  assert task.notes["selection"]["code_length_nats"] == result.scores
  assert task.notes["selection"]["chunk_boundaries"] == bounds
  # Every candidate is fitted on every prefix, then the winner once more on all 40 examples.
  assert fitted_sizes == [10, 20] * 3 + [40]
  assert jit.calls["fake_fit"] == 7 and jit.calls["fake_logits"] == 6
  assert len(result.data) == 40 and float(result.model) == pytest.approx(0.9)


def test_pooled_order_is_a_fixed_permutation_of_train_and_dev():
  train = DataView(colour_split(10, 3, 0), 3, False)
  dev = DataView(colour_split(5, 3, 1), 3, False)
  a, b = selection.pooled(train, dev, seed=1), selection.pooled(train, dev, seed=1)
  np.testing.assert_array_equal(a.images, b.images)
  both = np.concatenate([train.labels, dev.labels])
  assert sorted(a.labels.tolist()) == sorted(both.tolist()) and not np.array_equal(a.labels, both)


def test_dev_selection_picks_the_lowest_dev_error_then_log_loss():
  jit = CountingJit()
  task = _constant_task(8, 6, jit)
  fit, logits, fitted_sizes = _fake_learner(jit)
  # p = 0.3 still ranks class 0 first (0.3 > 0.7 / 3): all three have dev error 0; log-loss decides.
  result = selection.select(task, [{"p": 0.3}, {"p": 0.8}, {"p": 0.6}], fit, logits, select_by="dev")
  assert result.notes["dev_error"] == [0.0, 0.0, 0.0]
  assert result.selected == 1 and fitted_sizes == [8, 8, 8]
  empty = _constant_task(8, 0, jit)
  assert selection.select(empty, [{"p": 0.3}, {"p": 0.8}], fit, logits, select_by="dev").selected == 0
  with pytest.raises(ConfigError, match="select_by"):
    selection.check_select_by("x", "test")


def test_dev_selection_resumes_after_the_candidates_it_is_given():
  jit = CountingJit()
  task = _constant_task(8, 6, jit)
  fit, logits, fitted_sizes = _fake_learner(jit)
  candidates = [{"p": 0.3}, {"p": 0.8}, {"p": 0.6}]
  seen = []
  whole = selection.select(task, candidates, fit, logits, select_by="dev", on_candidate=seen.append)
  assert [len(progress.dev_error) for progress in seen] == [1, 2, 3]
  assert float(seen[0].best) == pytest.approx(0.3) and float(seen[1].best) == pytest.approx(0.8)
  fitted_sizes.clear()
  resumed = selection.select(task, candidates, fit, logits, select_by="dev", resume=seen[1])
  assert fitted_sizes == [8]  # only the third candidate is fitted again
  assert resumed.notes == whole.notes and resumed.model == seen[1].best
  with pytest.raises(ValueError, match="resume"):
    selection.select(task, candidates, fit, logits, select_by="prequential", resume=seen[0])


FT_TINY = {"width": 4, "blocks_per_stage": [1], "image_size": 8, "min_batch": 8, "max_batch": 8,
           "eval_batch_size": 32}


def test_finetuning_learner_selects_by_prequential_code_length():
  jit = CountingJit()
  learner = IndependentLearner(**FT_TINY, num_steps=2, learning_rates=[0.0, 0.1], select_by="prequential")
  task = colour_task("a", 3, jit=jit)  # 32 train + 16 dev = 48 pooled: chunks [10, 20, 40, 48]
  state = learner.train(task, learner.init(None))
  notes = task.notes["selection"]
  assert notes["select_by"] == "prequential" and notes["chunk_boundaries"] == [10, 20, 40, 48]
  codes = notes["code_length_nats"]
  assert notes["selected"] == int(np.argmin(codes)) and state["last_search"]["selected"] == notes["selected"]
  # lr 0 leaves the random init: its code is the random model's; both are charged: 2 candidates x 3 fits.
  assert jit.calls["resnet_train_step"] == 2 * 3 * 2 + 2
  assert set(state["heads"]) == {"a"}
  with pytest.raises(ConfigError, match="select_by"):
    IndependentLearner(**FT_TINY, select_by="holdout")


def test_finetuning_dev_selection_records_notes():
  learner = IndependentLearner(**FT_TINY, num_steps=2, learning_rates=[0.0, 0.1])
  task = colour_task("a", 3)
  learner.train(task, learner.init(None))
  notes = task.notes["selection"]
  assert notes["select_by"] == "dev" and len(notes["dev_error"]) == 2
  assert notes["chosen"]["learning_rate"] in (0.0, 0.1)


@pytest.mark.parametrize("mode, step_name", [("icl_ft", "icl_train_step"), ("ft_only", "icl_head_train_step")])
def test_icl_learner_prequential_charges_every_candidate(mode, step_name):
  jit = CountingJit()
  learner = IclLearner(**tiny_config(mode=mode, learning_rates=[0.001, 0.01], select_by="prequential"))
  state = learner.init(init_context(jit))
  task = colour_task("a", 3, jit=jit)
  state = learner.train(task, state)
  notes = task.notes["selection"]
  assert notes["chunk_boundaries"] == [10, 20, 40, 48]
  assert jit.calls[step_name] == 2 * 3 * 2 + 2  # 2 candidates x 3 chunk fits x 2 steps, + the refit
  assert notes["selected"] == int(np.argmin(notes["code_length_nats"]))
  if mode == "icl_ft":  # contexts for prediction come from the pooled train + dev data
    assert np.asarray(state["tasks"]["a"]["images"]).shape[:2] == (2, 6)
