"""Small path checks shared by the workdir and the data store."""
from __future__ import annotations

from pathlib import Path


def file_in_the_way(path: Path) -> Path | None:
  """The nearest existing one of `path` and its parents if it is not a folder (so `path` cannot be one)."""
  existing = path
  while not existing.exists() and existing != existing.parent:
    existing = existing.parent
  return existing if existing.exists() and not existing.is_dir() else None
