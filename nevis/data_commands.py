"""`nevis data status [STREAM]` and `nevis data prepare TARGET...`: the datasets of the registered streams.

Any task that carries a `nevis.task.DataSource` is covered, whatever its stream's module. Status says where
the data folder is (`NEVIS_DATA_DIR`, else the user's cache) and wraps each dataset's instructions to the
terminal's width.
"""
from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

from nevis import registry
from nevis.errors import DataError, UserError, closest

_NAME_W, _STATUS_W, _SIZE_W = 32, 9, 13


def datasets(targets: list[str] | None) -> list:
  """Tasks with a data source, one per dataset, for stream names or dataset keys (all when None)."""
  streams = registry.STREAMS.names()
  chosen, by_dataset = [], {}
  for name in streams:
    for task in registry.STREAMS.get(name)().tasks:
      if task.data is not None:
        by_dataset.setdefault(task.info.dataset, task)
  if not targets:
    return sorted(by_dataset.values(), key=lambda t: t.info.dataset)
  for target in targets:
    if target in streams:
      chosen += [t for t in registry.STREAMS.get(target)().tasks if t.data is not None]
    elif target in by_dataset:
      chosen.append(by_dataset[target])
    else:
      hint = closest(target, streams + list(by_dataset))
      raise UserError(f"{target!r} is neither a stream nor a dataset{hint}; see `nevis streams` and `nevis data status`")
  unique = {}
  for task in chosen:
    unique.setdefault(task.info.dataset, task)
  return list(unique.values())


def status(stream: str | None, quick: bool) -> int:
  tasks = datasets([stream] if stream else None)
  for line in folder_lines(tasks):
    print(line)
  counts: dict[str, int] = {}
  indent = _NAME_W + _STATUS_W + _SIZE_W + 3
  width = max(shutil.get_terminal_size((120, 24)).columns - indent, 40)
  for task in tasks:
    state = task.data.status()
    if state == "prepared" and not quick:
      try:
        task.data.verify()  # every byte against its checksum: a flipped bit shows as corrupt
      except DataError:
        state = "corrupt"
    counts[state] = counts.get(state, 0) + 1
    size = f"{task.data.size_bytes() / 2**20:9.1f} MiB" if state != "missing" else ""
    how = "" if state == "prepared" else task.data.instructions()
    lines = textwrap.wrap(how, width, break_on_hyphens=False) or [""]
    print(f"{task.info.dataset:{_NAME_W}s} {state:{_STATUS_W}s} {size:{_SIZE_W}s} {lines[0]}".rstrip())
    for line in lines[1:]:
      print(" " * indent + line)
  checked = "sizes only (--quick)" if quick else "checksums verified"
  print(f"{len(tasks)} datasets: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"; {checked}")
  return 0


def folder_lines(tasks: list) -> list[str]:
  """Where the data is: each store folder the tasks' sources name, and where that choice comes from."""
  folders = sorted({Path(task.data.folder) for task in tasks if getattr(task.data, "folder", None) is not None})
  env = os.environ.get("NEVIS_DATA_DIR")
  lines = []
  for folder in folders:
    if not env:
      origin = "the default; set NEVIS_DATA_DIR to use another folder"
    else:
      origin = "NEVIS_DATA_DIR" if Path(env).expanduser() == folder else "a stream's data_dir"
    lines.append(f"data folder: {folder} ({origin})")
  return lines


def prepare(targets: list[str], manual_dir: str | None, force: bool) -> int:
  failures = []
  tasks = datasets(targets)
  for task in tasks:
    if task.data.status() == "prepared" and not force:
      print(f"{task.info.dataset}: already prepared")
      continue
    try:
      task.data.prepare(manual_dir=manual_dir, force=force)
      print(f"{task.info.dataset}: prepared")
    except Exception as e:  # one dataset failing must not stop the others; each is reported below
      failures.append((task.info.dataset, str(e).splitlines()[0] if str(e) else type(e).__name__))
  print(f"prepared {len(tasks) - len(failures)} of {len(tasks)} datasets")
  for dataset, why in failures:
    print(f"  failed {dataset}: {why}")
  return 1 if failures else 0
