"""`nevis learners [NAME]` and `nevis streams [NAME]`: what is registered, and what one of them offers.

A learner's options come from its typed `Config` (`nevis.options`): the one source of their types,
defaults and docs, which validation reads too. Listing names imports nothing heavy (the built-in learners
are declared, see `nevis.registry`); describing one imports it.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
import typing

from nevis import registry
from nevis.options import OptionDoc, Options, describe

_DOC_MIN_WIDTH = 20


def print_learners(name: str | None) -> None:
  if not name:
    _print_names(registry.LEARNERS)
    return
  learner_cls = registry.LEARNERS.get(name)
  print(f"{name}: {registry.LEARNERS.summary(name)}")
  print("\noptions (learner_options; in YAML, or --set learner_options.KEY=VALUE):")
  _print_options(option_rows(learner_cls))


def print_streams(name: str | None, as_json: bool = False) -> None:
  if not name:
    _print_names(registry.STREAMS)
    return
  factory = registry.STREAMS.get(name)
  rows = task_rows(factory())
  if as_json:
    print(json.dumps(rows, indent=1))
    return
  print(f"{name}: {registry.STREAMS.summary(name)}")
  options = getattr(factory, "options", None)
  if isinstance(options, type) and issubclass(options, Options):
    print("\noptions (stream_options; in YAML, or --set stream_options.KEY=VALUE):")
    _print_options(_rows_of(options))
  print(f"\n{len(rows)} tasks (examples per split train/dev/dev_test/test where the data is prepared):")
  print(f"{'#':>4} {'year':4} {'task':32s} {'classes':>7} {'kind':12s} {'examples':>27}  source")
  source_w = max(shutil.get_terminal_size((120, 24)).columns - 93, 12)  # what is left of the line
  for r in rows:
    sizes = r["sizes"]
    counts = "/".join(str(sizes.get(s, "?")) for s in ("train", "dev", "dev_test", "test")) if sizes else "-"
    source = r["source"] if len(r["source"]) <= source_w else r["source"][: source_w - 3] + "..."
    print(f"{r['position']:4d} {r['year']:4d} {r['name'][:32]:32s} {r['classes']:7d} {r['kind']:12s} {counts:>27}  "
          f"{source}{'  (held out)' if r['held_out'] else ''}".rstrip())


def task_rows(stream) -> list[dict]:
  """`nevis.stream.stream_table`'s rows with each task's examples per split (`sizes`; None when its data is
  not prepared or its source cannot say)."""
  from nevis.stream import stream_table

  rows = stream_table(stream)
  for row, task in zip(rows, stream.tasks):
    sizes = getattr(task.data, "split_sizes", None)
    row["sizes"] = (sizes() or None) if callable(sizes) else None
  return rows


def option_rows(learner_cls) -> list[OptionDoc]:
  """Name, type, default and doc of each of a learner's options, from its typed `Config`."""
  return _rows_of(learner_cls.Config)


def _rows_of(config_cls, prefix: str = "") -> list[OptionDoc]:
  """describe() of a config class, with nested config classes listed key by key (`sequence.mixer`)."""
  hints = typing.get_type_hints(config_cls)
  rows = []
  for row, field in zip(describe(config_cls), dataclasses.fields(config_cls)):
    hint = hints[field.name]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
      rows += _rows_of(hint, f"{prefix}{field.name}.")
    else:
      rows.append(dataclasses.replace(row, name=prefix + row.name))
  return rows


def _print_names(reg: registry.Registry) -> None:
  names = reg.names()
  width = max((len(n) for n in names), default=0) + 2
  for name in names:
    print(f"{name:{width}s}{reg.summary(name)}")


def _print_options(rows: list[OptionDoc]) -> None:
  if not rows:
    print("  (none)")
    return
  name_w = max(len(r.name) for r in rows) + 2
  type_w = min(max(len(r.type) for r in rows), 24) + 2
  defaults = [json.dumps(r.default, default=str) for r in rows]
  default_w = min(max(len("default"), *(len(d) for d in defaults)), 24) + 2
  indent = 2 + name_w + type_w + default_w
  doc_w = max(shutil.get_terminal_size((100, 24)).columns - indent, _DOC_MIN_WIDTH)
  print(f"  {'name':{name_w}s}{'type':{type_w}s}{'default':{default_w}s}meaning")
  for row, default in zip(rows, defaults):
    head = f"  {row.name:{name_w}s}{row.type:{type_w}s}{default:{default_w}s}"
    if len(head) > indent:  # a long type or default: the meaning starts on the next line
      print(head.rstrip())
      head = " " * indent
    lines = textwrap.wrap(row.doc, doc_w) or [""]
    print((head + lines[0]).rstrip())
    for line in lines[1:]:
      print(" " * indent + line)
