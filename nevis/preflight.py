"""Before anything trains: the stream's data must be there and intact, or the run stops saying how to fix it."""
from __future__ import annotations

from nevis.errors import DataError
from nevis.stream import Stream
from nevis.task import Task


def check_data(stream: Stream, tasks: list[Task], config: dict) -> set[int]:
  """Positions to skip (data missing, `allow_missing`); DataError if data is corrupt, missing without
  `allow_missing`, or missing for every task.

  Prepared datasets are verified against their checksums here (once per dataset), so a corrupt file
  stops the run before anything trains. Sources that prepare themselves on first use (the embedded
  `mini` stream) are left to do so.
  """
  unavailable, verified = {}, {}
  for position, task in enumerate(tasks):
    if task.data is None or getattr(task.data, "prepares_itself", False):
      continue
    dataset = task.info.dataset
    if dataset not in verified:
      status = task.data.status()
      if status == "prepared":
        try:
          task.data.verify()
        except DataError:
          status = "corrupt"
      verified[dataset] = status
    if verified[dataset] != "prepared":
      unavailable[position] = (task, verified[dataset])
  corrupt = sorted({t.info.dataset for t, s in unavailable.values() if s == "corrupt"})
  name = config.stream
  if corrupt:
    raise DataError(
        f"stored data failed its checksums: {', '.join(corrupt)}; "
        f"run `nevis data prepare {' '.join(corrupt)} --force` to prepare it again"
    )
  if unavailable and not config.allow_missing:
    datasets = sorted({f"{t.info.dataset} ({status})" for t, status in unavailable.values()})
    raise DataError(
        f"stream {stream.name!r} needs data that is not prepared: {', '.join(datasets)}; "
        f"run `nevis data prepare {name}` (see `nevis data status {name}`), "
        "or add --set allow_missing=true to skip those tasks"
    )
  if unavailable and len(unavailable) == len(tasks):
    raise DataError(
        f"allow_missing is set but none of the {len(tasks)} tasks of stream {stream.name!r} has its data "
        f"prepared, so there is nothing to run; run `nevis data prepare {name}` (see `nevis data status {name}`)"
    )
  return set(unavailable)
