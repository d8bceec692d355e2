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
