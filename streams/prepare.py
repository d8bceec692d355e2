"""What `nevis data status|prepare` does, for NEVIS'22 datasets and any task that carries a DataSource.

`NevisDataSource` is the `nevis.task.DataSource` of a NEVIS'22 dataset: it knows the catalogue entry, the
store, and whether a TFDS preparation or a handler produces it, so the CLI and the runner's pre-flight
check need nothing but `task.data`.
"""
from __future__ import annotations

import dataclasses
import traceback
from typing import Callable, Iterable

from nevis.errors import DataError, UserError
from nevis.streams import handlers, tfds_source
from nevis.streams.nevis22_catalogue import CATALOGUE, DatasetEntry, entry
from nevis.task import Task

DEFAULT_IMAGE_SIZE = 64
# TFDS datasets that a handler reads from the very archive TFDS would download, without TensorFlow.
TFDS_FREE_HANDLERS = {"coil100": "coil100"}


@dataclasses.dataclass(frozen=True)
class NevisDataSource:
  """How one NEVIS'22 dataset is obtained, checked and stored (implements nevis.task.DataSource)."""

  dataset: str
  data_dir: str | None = None  # store root; None: $NEVIS_DATA_DIR or the user cache
  image_size: int = DEFAULT_IMAGE_SIZE
  download_dir: str | None = None  # download cache; None: $NEVIS_DOWNLOAD_DIR or the user cache
  tfds_data_dir: str | None = None  # None: TFDS's own default (~/tensorflow_datasets or $TFDS_DATA_DIR)

  @property
  def entry(self) -> DatasetEntry:
    return entry(self.dataset)

  def store(self):
    from nevis.streams.store import Store

    return Store(root=self.data_dir, image_size=self.image_size)

  def handler_name(self) -> str | None:
    """The handler that prepares this dataset, or None when TFDS does (or nothing yet)."""
    e = self.entry
    name = e.source_name if e.source_kind == "handler" else TFDS_FREE_HANDLERS.get(e.key)
    return name if name is not None and handlers.has_handler(name) else None

  def status(self) -> str:
    return self.store().status(self.dataset)

  def verify(self) -> None:
    """Checks every stored array's sha256; raises DataError naming the bad file."""
    self.store().verify(self.dataset)

  def size_bytes(self) -> int:
    return self.store().size_bytes(self.dataset)

  def split_sizes(self) -> dict[str, int]:
    return self.store().split_sizes(self.dataset)

  @property
  def folder(self):
    """The store's folder (root) holding this dataset."""
    return self.store().root

  def instructions(self) -> str:
    e = self.entry
    command = f"nevis data prepare {self.dataset}"
    name = self.handler_name()
    if name is not None:
      how = handlers.get_handler(name).instructions()
      return f"{command} --manual-dir DIR if needed: {how}" if _needs_manual(how) else f"{command} ({how})"
    if e.source_kind == "tfds":
      return f"{command}: {tfds_source.instructions(e.source_name, e.manual)}"
    return f"not yet obtainable: no handler {e.source_name!r} in this version of nevis ({e.notes})"

  def prepare(self, *, manual_dir: str | None = None, force: bool = False) -> None:
    if not force and self.status() == "prepared":
      return
    e = self.entry
    name = self.handler_name()
    if name is not None:
      from nevis.streams.handlers.base import prepare_with_handler

      prepare_with_handler(
          handlers.get_handler(name), dataset=self.dataset, store=self.store(), recipe=e.split_recipe,
          kind=e.kind, class_names=e.class_names, manual_dir=manual_dir, cache_dir=self.download_dir,
          source=f"handler:{name}",
      )
    elif e.source_kind == "tfds":
      tfds_source.prepare_tfds(
          e.source_name, dataset=self.dataset, store=self.store(), recipe=e.split_recipe, kind=e.kind,
          class_names=e.class_names, manual_dir=manual_dir, tfds_data_dir=self.tfds_data_dir,
      )
    else:
      raise DataError(f"dataset {self.dataset!r}: {self.instructions()}")


def _needs_manual(how: str) -> bool:
  return "--manual-dir" in how


def data_source(dataset: str, **options) -> NevisDataSource:
  """The DataSource of catalogue key `dataset`."""
  entry(dataset)
  return NevisDataSource(dataset, **options)


def _sources(tasks_or_keys: Iterable[Task | str], **options) -> list:
  sources, seen = [], set()
  for item in tasks_or_keys:
    if isinstance(item, str):
      source = data_source(item, **options)
    elif item.data is not None:
      source = item.data
    else:
      continue  # e.g. embedded streams: nothing to prepare
    if source.dataset not in seen:
      seen.add(source.dataset)
      sources.append(source)
  return sources


def status_rows(tasks: Iterable[Task | str], *, verify: bool = False, **options) -> list[dict]:
  """One row per distinct dataset: dataset, status (prepared/missing/corrupt), size_bytes, how.

  `verify=True` also checks the checksums of prepared datasets (reads every byte), so a flipped bit
  shows as corrupt; without it status looks at the manifest and file sizes only.
  """
  rows = []
  for source in _sources(tasks, **options):
    status = source.status()
    if verify and status == "prepared" and hasattr(source, "verify"):
      try:
        source.verify()
      except DataError:
        status = "corrupt"
    rows.append({
        "dataset": source.dataset,
        "status": status,
        "size_bytes": int(source.size_bytes()),
        "how": source.instructions(),
    })
  return rows


def prepare_datasets(
    tasks_or_keys: Iterable[Task | str],
    manual_dir: str | None = None,
    force: bool = False,
    *,
    log: Callable[[str], None] | None = None,
    **options,
) -> dict:
  """Prepares each distinct dataset; returns {"prepared": [...], "already": [...], "failed": {name: why}}.

  A failure does not stop the others. `options` (data_dir, image_size, download_dir, tfds_data_dir)
  apply to datasets named by key; tasks bring their own DataSource.
  """
  summary: dict = {"prepared": [], "already": [], "failed": {}}
  for source in _sources(tasks_or_keys, **options):
    if not force and source.status() == "prepared":
      summary["already"].append(source.dataset)
      continue
    if log:
      log(f"preparing {source.dataset}")
    try:
      source.prepare(manual_dir=manual_dir, force=force)
    except UserError as e:
      summary["failed"][source.dataset] = str(e)
    except Exception as e:  # a handler bug must not hide the other datasets' results
      summary["failed"][source.dataset] = f"{type(e).__name__}: {e}"
      if log:
        log(traceback.format_exc())
    else:
      summary["prepared"].append(source.dataset)
  return summary


def manual_step_datasets() -> list[tuple[str, str]]:
  """(dataset, what to do by hand) for every catalogue dataset whose source may need a manual step."""
  rows = []
  for key, e in CATALOGUE.items():
    if e.manual is not None:
      rows.append((key, e.manual))
  return rows
