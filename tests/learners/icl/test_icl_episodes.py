"""Meta-pretraining episodes: N-way draws over a many-class split, per-prompt label assignments and ways."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nevis.learners import icl_loop, icl_model
from nevis.learners.icl_prompts import class_members, sample_episode


def test_class_members_lists_each_class_in_order():
  labels = np.array([2, 0, 2, 3, 0, 2])
  members = class_members(labels)
  assert [m.tolist() for m in members] == [[1, 4], [], [0, 2, 5], [3]]


def _labels(num_classes=30, per_class=6, seed=0):
  return np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes), per_class))


@pytest.mark.parametrize("ways, shots", [((2, 5), (1, 3)), ((4, 4), (2, 2)), ((2, 10), (1, 5))])
def test_an_episode_is_n_classes_with_pools_of_s_and_queries_outside_them(ways, shots):
  labels = _labels()
  members = class_members(labels)
  rng = np.random.default_rng(1)
  seen_ways, seen_pools = set(), set()
  for _ in range(200):
    context, context_labels, queries, query_labels, n = sample_episode(members, ways, shots, 12, 5, rng)
    seen_ways.add(n)
    assert ways[0] <= n <= ways[1] and len(context) == 12 and len(queries) == 5
    # Episode classes are 0..n-1, each standing for one true class throughout the episode.
    assert set(context_labels.tolist()) == set(range(n)) or len(context) < n
    truth = {}
    for index, label in zip(np.concatenate([context, queries]), np.concatenate([context_labels, query_labels])):
      assert truth.setdefault(int(label), int(labels[index])) == labels[index]
    assert len(set(truth.values())) == len(truth)
    # Balanced: the counts of the episode's classes in the context differ by at most one.
    counts = np.bincount(context_labels, minlength=n)
    assert counts.max() - counts.min() <= 1
    # Each class's pool has s distinct examples (the context cycles over them), the same s for every class.
    pool_sizes = {len(set(context[context_labels == c].tolist())) for c in range(n)}
    distinct = {min(size, counts.min()) for size in pool_sizes}
    assert len(distinct) == 1
    seen_pools |= pool_sizes
    assert not set(queries.tolist()) & set(context.tolist())  # queries come from outside the pools
    assert query_labels.max() < n
  assert seen_ways == set(range(ways[0], ways[1] + 1))
  assert max(seen_pools) == shots[1] and min(seen_pools) == shots[0]


def test_episodes_are_a_pure_function_of_the_generator_and_keep_one_example_for_queries():
  labels = np.repeat(np.arange(5), [2, 2, 3, 9, 1])  # class 4 has one example: never drawn
  members = class_members(labels)
  first = sample_episode(members, (2, 4), (1, 8), 10, 4, np.random.default_rng(7))
  second = sample_episode(members, (2, 4), (1, 8), 10, 4, np.random.default_rng(7))
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)
  for seed in range(50):
    context, _, queries, _, n = sample_episode(members, (2, 4), (1, 8), 10, 4, np.random.default_rng(seed))
    assert n <= 4 and 4 not in labels[np.concatenate([context, queries])]
    assert not set(queries.tolist()) & set(context.tolist())
  with pytest.raises(ValueError, match="two classes with two examples"):
    sample_episode(class_members(np.array([0, 0, 1])), (2, 2), (1, 1), 4, 2, np.random.default_rng(0))


def test_episode_batches_carry_one_assignment_and_one_number_of_ways_per_prompt():
  labels = _labels()
  draw = icl_loop.episodes(labels, (2, 6), (1, 3), 8, 3, 5, 10)
  batch = draw(np.random.default_rng(3))
  assert batch.examples.shape == (5 * (8 + 3),) and batch.perm.shape == (5, 10)
  assert batch.context_labels.shape == (5, 8) and batch.query_labels.shape == (5, 3)
  assert batch.num_classes.shape == (5,) and batch.num_classes.dtype == np.int32
  for row in range(5):
    assert sorted(batch.perm[row].tolist()) == list(range(10))
    assert batch.context_labels[row].max() < batch.num_classes[row]
  contexts = batch.examples[:40].reshape(5, 8)
  queries = batch.examples[40:].reshape(5, 3)
  for row in range(5):  # the labels are the episode's names of the examples' true classes
    truth = dict(zip(batch.context_labels[row].tolist(), labels[contexts[row]].tolist()))
    assert all(truth[int(q)] == labels[i] for q, i in zip(batch.query_labels[row], queries[row]))


def test_class_log_probs_masks_each_prompts_own_number_of_classes():
  id_logits = jnp.asarray([[[0.0, 1.0, 2.0, 3.0]], [[0.0, 1.0, 2.0, 3.0]]])  # (S=2, Q=1, V=4)
  perm = jnp.asarray([[0, 1, 2, 3], [3, 2, 1, 0]])
  log_probs = np.asarray(icl_model.class_log_probs(id_logits, perm, jnp.asarray([2, 3], jnp.int32)))
  np.testing.assert_allclose(log_probs[0, 0, :2], np.array([0.0, 1.0]) - np.log(1 + np.e), rtol=1e-6)
  assert np.all(np.isneginf(log_probs[0, 0, 2:]))
  three = np.array([3.0, 2.0, 1.0])
  np.testing.assert_allclose(log_probs[1, 0, :3], three - np.log(np.exp(three).sum()), rtol=1e-6)
  assert np.isneginf(log_probs[1, 0, 3])
  # One count for every prompt is the same as that count repeated.
  np.testing.assert_array_equal(np.asarray(icl_model.class_log_probs(id_logits, perm, 3)),
                                np.asarray(icl_model.class_log_probs(id_logits, perm, jnp.asarray([3, 3]))))


def test_unbalanced_episodes_skew_the_context_and_draw_queries_in_its_proportions():
  labels = _labels(num_classes=30, per_class=8)
  members = class_members(labels)
  rng = np.random.default_rng(4)
  excess = []
  for _ in range(300):
    context, context_labels, queries, query_labels, n = sample_episode(members, (3, 3), (2, 4), 12, 6, rng, 1.0)
    counts = np.bincount(context_labels, minlength=n)
    assert len(context) == 12 and counts.min() >= 1 and counts.sum() == 12
    for c in range(n):  # each class cycles over its own pool of at most 4 (shots) examples of one true class
      shown = context[context_labels == c]
      assert len(set(shown.tolist())) <= 4 and len({int(labels[i]) for i in shown}) == 1
    assert not set(queries.tolist()) & set(context.tolist())
    excess.append(counts[query_labels].mean() - 12 / 3)
  # Queries follow the context's proportions: their class is on average more frequent than k / N = 4
  # (E[count of a query's class] = E[sum_c count_c^2] / k > k / N when counts differ).
  assert np.mean(excess) > 0.8
  balanced = [np.bincount(sample_episode(members, (3, 3), (2, 4), 12, 6, rng, 0.0)[1]).tolist() for _ in range(20)]
  assert all(counts == [4, 4, 4] for counts in balanced)
