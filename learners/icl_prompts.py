"""Host-side sampling of the `icl` learner's prompts: balanced contexts, queries and per-prompt label
assignments. Each is a pure function of the generator it is given, so a resumed task draws the same prompts."""
from __future__ import annotations

import numpy as np


def balanced_context(pool: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
  """k indices from `pool`, classes taken round-robin in a random class order (cycling if the pool is
  small), then shuffled: every class present gets about k / K examples."""
  pool = pool[rng.permutation(len(pool))]
  classes = rng.permutation(np.unique(labels[pool]))
  by_class = [pool[labels[pool] == c] for c in classes]
  picked, depth = [], 0
  while len(picked) < k:
    for members in by_class:
      if len(picked) == k:
        break
      picked.append(members[depth % len(members)])
    depth += 1
  return rng.permutation(np.asarray(picked, dtype=np.int64))


def sample_prompt(labels: np.ndarray, k: int, q: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """(context indices (k,), query indices (q,)): queries first, the context balanced from the rest.
  With fewer than q + 1 examples, queries are drawn with replacement and may reappear in the context."""
  n = len(labels)
  order = rng.permutation(n)
  if n > q:
    queries, pool = order[:q], order[q:]
  else:
    queries, pool = rng.integers(0, n, q), order
  return balanced_context(pool, labels, k, rng), queries


def random_assignment(label_vocab: int, rng: np.random.Generator) -> np.ndarray:
  """perm (V,): class c is shown as label id perm[c]."""
  return rng.permutation(label_vocab).astype(np.int32)


def class_members(labels: np.ndarray) -> list[np.ndarray]:
  """Indices of each class's examples, for classes 0..max(labels) (empty arrays for absent classes)."""
  labels = np.asarray(labels)
  order = np.argsort(labels, kind="stable")
  bounds = np.searchsorted(labels[order], np.arange(int(labels.max()) + 2 if len(labels) else 1))
  return [order[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]


def sample_episode(members: list[np.ndarray], ways: tuple[int, int], shots: tuple[int, int], k: int, q: int,
                   rng: np.random.Generator, unbalanced: float = 0.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
  """An N-way episode for meta-pretraining, drawn the way `icl` contexts are drawn from a few-shot task.

  N ~ U{ways} classes among those with at least two examples (at most as many as there are), each with a
  pool of s ~ U{shots} of its examples (one fewer than it has at most); the context is `balanced_context`
  of k indices over the pools (cycling when the pools are small, as prediction does with few examples),
  and the q queries are examples outside the pools, of classes drawn uniformly among the N. Classes are
  renamed 0..N-1 in the order drawn. Returns (context (k,), context labels (k,), queries (q,), query labels
  (q,), N); indices point into the task's split.

  With probability `unbalanced` the episode is skewed instead: class proportions w ~ Dirichlet(1, ..., 1),
  each class shown 1 + Multinomial(k - N, w) times (cycling over its pool, k >= N), in random order, and
  the queries' classes drawn in those proportions. Guessing from label frequencies then pays, a first
  strategy whose gradient teaches the sequence model to carry label ids from context to query; matching a
  query to the context's examples, all that balanced episodes (and prediction) reward, builds on it.
  """
  eligible = [c for c, m in enumerate(members) if len(m) >= 2]
  if len(eligible) < 2:
    raise ValueError("an episode needs at least two classes with two examples each")
  n = int(rng.integers(min(ways[0], len(eligible)), min(ways[1], len(eligible)) + 1))
  chosen = rng.choice(len(eligible), n, replace=False)
  s = int(rng.integers(shots[0], shots[1] + 1))
  pools, rests = [], []
  for c in chosen:
    shuffled = rng.permutation(members[eligible[c]])
    take = min(s, len(shuffled) - 1)
    pools.append(shuffled[:take])
    rests.append(shuffled[take:])
  if unbalanced and rng.random() < unbalanced:
    counts = 1 + rng.multinomial(k - n, rng.dirichlet(np.ones(n)))
    order = rng.permutation(k)
    context = np.concatenate([np.resize(p, count) for p, count in zip(pools, counts)])[order]
    context_labels = np.repeat(np.arange(n), counts)[order]
    query_labels = rng.choice(n, q, p=counts / k)
  else:
    pool = np.concatenate(pools)
    pool_labels = np.repeat(np.arange(n), [len(p) for p in pools])
    picked = balanced_context(np.arange(len(pool)), pool_labels, k, rng)
    context, context_labels = pool[picked], pool_labels[picked]
    query_labels = rng.integers(0, n, q)
  queries = np.array([rests[c][rng.integers(len(rests[c]))] for c in query_labels], dtype=np.int64)
  return context, context_labels, queries, query_labels, n
