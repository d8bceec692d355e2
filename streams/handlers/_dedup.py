"""Dropping repeated (image, label) pairs, as dm_nevis does for a few sources (first copy kept)."""
from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

import numpy as np

from nevis.streams.handlers.base import Example, to_array


def unique_examples(examples: Iterable[Example]) -> Iterator[Example]:
  """The examples whose pixels and label were not seen before, in order."""
  seen = set()
  for example in examples:
    pixels = to_array(example.image)
    key = (hashlib.md5(np.ascontiguousarray(pixels).tobytes()).hexdigest(), pixels.shape, str(example.label))
    if key not in seen:
      seen.add(key)
      yield example
