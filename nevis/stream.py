"""Streams: ordered lists of tasks, built lazily by registered factories."""
from __future__ import annotations

import dataclasses
from typing import Sequence

from nevis.task import Task


@dataclasses.dataclass(frozen=True)
class Stream:
  name: str
  tasks: Sequence[Task]

  def __post_init__(self):
    names = [t.name for t in self.tasks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
      raise ValueError(f"stream {self.name!r} has repeated task names {dupes}; give repeats a suffix")

  def __len__(self) -> int:
    return len(self.tasks)

  def __iter__(self):
    return iter(self.tasks)


def stream_table(stream: Stream) -> list[dict]:
  """One row per task in stream order, for `nevis streams NAME` (and `--json`).

  Fields: position (1-based), name, year, key, display_name, classes, kind, source, held_out. Works for any
  stream; it reads only task metadata.
  """
  return [
      {
          "position": position,
          "name": task.info.name,
          "year": task.info.year,
          "key": task.info.dataset,
          "display_name": task.info.display_name or task.info.dataset,
          "classes": task.info.num_classes,
          "kind": task.info.kind.value,
          "source": task.info.source,
          "held_out": task.info.held_out,
      }
      for position, task in enumerate(stream.tasks, start=1)
  ]
