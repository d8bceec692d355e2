"""The ICL scoring code: label permutation equivariance, context dependence, prefix cache == full prompt."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.learners import icl_model
from nevis.learners.icl import IclLearner
from nevis.learners.icl_prompts import balanced_context, sample_prompt
from nevis.learners.nn.blocks import SequenceModelConfig, VitEncoderConfig
from tests.learners.icl.icl_fixtures import PEER, colour_split, colour_task, init_context, tiny_config


def test_class_log_probs_reads_ids_through_the_assignment():
  id_logits = jnp.asarray([[[0.0, 1.0, 2.0, 3.0]]])  # (S=1, Q=1, V=4)
  perm = jnp.asarray([[3, 0, 2, 1]])  # class 0 -> id 3, class 1 -> id 0, class 2 -> id 2
  log_probs = np.asarray(icl_model.class_log_probs(id_logits, perm, 3))[0, 0]
  expected = np.array([3.0, 0.0, 2.0]) - np.log(np.exp([3.0, 0.0, 2.0]).sum())
  np.testing.assert_allclose(log_probs[:3], expected, rtol=1e-6)
  assert np.all(np.isneginf(log_probs[3:]))
  # Two contexts average as a mixture: log((p1 + p2) / 2).
  two = icl_model.averaged_class_log_probs(jnp.concatenate([id_logits, id_logits[..., ::-1]]),
                                           jnp.concatenate([perm, perm]), 3)
  second = np.array([0.0, 3.0, 1.0]) - np.log(np.exp([0.0, 3.0, 1.0]).sum())
  np.testing.assert_allclose(np.asarray(two)[0, :3], np.log((np.exp(expected) + np.exp(second)) / 2), rtol=1e-6)


def _trained_icl_only(mixer="softmax"):
  learner = IclLearner(**tiny_config(mixer, mode="icl_only", label_vocab=5))
  task = colour_task("colours", 3)
  state = learner.train(task, learner.init(init_context()))
  return learner, task, state


def test_permuting_class_to_id_assignment_permutes_predictions():
  learner, task, state = _trained_icl_only()
  entry = state["tasks"]["colours"]
  queries = colour_split(12, 3, seed=9).images
  before = learner.predict(task.for_prediction(), state, queries)

  sigma = np.array([2, 0, 1])  # class c of the context becomes class sigma[c]
  perm = np.asarray(entry["perm"])
  relabelled_perm = perm.copy()
  relabelled_perm[:, sigma] = perm[:, :3]  # perm'[sigma(c)] = perm[c]: the model sees the same ids
  relabelled = dict(entry, labels=sigma[np.asarray(entry["labels"])], perm=relabelled_perm)
  state_sigma = dict(state, tasks={"colours": relabelled})
  after = learner.predict(task.for_prediction(), state_sigma, queries)
  np.testing.assert_allclose(after[:, sigma], before, rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(np.argmax(after, 1), sigma[np.argmax(before, 1)])


def test_predictions_depend_on_the_context_labels():
  learner, task, state = _trained_icl_only()
  entry = state["tasks"]["colours"]
  queries = colour_split(12, 3, seed=9).images
  before = learner.predict(task.for_prediction(), state, queries)
  swapped = dict(entry, labels=np.array([1, 2, 0])[np.asarray(entry["labels"])])  # same assignment
  after = learner.predict(task.for_prediction(), dict(state, tasks={"colours": swapped}), queries)
  assert np.max(np.abs(after - before)) > 1e-4


@pytest.mark.parametrize("mixer", ["softmax", "fox", "fox_pro", "lru"])
@pytest.mark.parametrize("mlp", ["dense", "peer"])
def test_prefix_cached_queries_equal_full_prompts(mixer, mlp):
  model = icl_model.IclModel(
      encoder="resnet", width=4, blocks_per_stage=(1,), image_size=8, vit=VitEncoderConfig(),
      sequence=SequenceModelConfig(d_model=16, num_layers=2, num_heads=2, mixer=mixer, mlp=mlp, peer=PEER),
      label_vocab=4, rngs=nnx.Rngs(1))
  rng = np.random.default_rng(0)
  features = jnp.asarray(rng.normal(size=(2, 5, model.feature_dim)), jnp.float32)  # S=2 contexts, k=5
  labels = jnp.asarray(rng.integers(0, 3, (2, 5)), jnp.int32)
  perm = jnp.asarray(np.stack([rng.permutation(4), rng.permutation(4)]), jnp.int32)
  queries = jnp.asarray(rng.normal(size=(2, 3, model.feature_dim)), jnp.float32)
  graphdef, weights = nnx.split(model)

  @jax.jit
  def both(weights, features, perm, labels, queries):
    model = nnx.merge(graphdef, weights)
    cache = icl_model.context_cache(model, features, perm, labels)
    cached = icl_model.query_id_logits(model, cache, queries)
    alone = icl_model.query_id_logits(model, cache, queries[:, 1:2])
    return cached, alone, icl_model.full_prompt_id_logits(model, features, perm, labels, queries)

  cached, alone, full = (np.asarray(x) for x in both(weights, features, perm, labels, queries))
  np.testing.assert_allclose(cached, full, rtol=2e-5, atol=2e-5)
  # Queries are independent: scoring one alone gives the same numbers.
  np.testing.assert_allclose(alone[:, 0], cached[:, 1], rtol=2e-5, atol=2e-5)


def test_balanced_context_and_prompt_sampling():
  labels = np.repeat(np.arange(3), [10, 2, 5])
  rng = np.random.default_rng(0)
  context = balanced_context(np.arange(len(labels)), labels, 7, rng)
  assert sorted(np.bincount(labels[context], minlength=3)) == [2, 2, 3]
  tiny = np.array([0, 1])  # fewer examples than k: classes cycle
  assert np.bincount(tiny[balanced_context(np.arange(2), tiny, 5, rng)]).tolist() in ([3, 2], [2, 3])
  context, queries = sample_prompt(labels, 6, 4, rng)
  assert len(context) == 6 and len(queries) == 4 and not set(context) & set(queries)
