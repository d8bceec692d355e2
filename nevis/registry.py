"""String registries for learners and streams.

Built-in and third-party plugins register the same way: a module that applies `@register_learner` /
`@register_stream`, named by an entry point in the group `nevis.learners` / `nevis.streams`, or imported
with `--import module`. The core never imports a plugin by name.
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
from typing import Callable, Iterable

from nevis.errors import ConfigError, RegistryError, UserError, closest
from nevis.options import Options

ENTRY_POINT_GROUPS = {"learner": "nevis.learners", "stream": "nevis.streams"}


class Registry:
  def __init__(self, kind: str):
    self.kind = kind
    self._items: dict[str, Callable] = {}
    self._entry_points_loaded = False

  def register(self, name: str):
    def decorate(obj):
      existing = self._items.get(name)
      if existing is not None and existing is not obj:
        raise RegistryError(
            f"{self.kind} {name!r} is registered twice ({_where(existing)} and {_where(obj)}); rename one"
        )
      self._items[name] = obj
      return obj

    return decorate

  def load_entry_points(self) -> None:
    if self._entry_points_loaded:
      return
    self._entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUPS[self.kind]):
      try:
        entry_point.load()  # importing the module runs its @register_* decorators
      except ImportError as e:
        raise RegistryError(
            f"plug-in {entry_point.value!r} (entry point {ENTRY_POINT_GROUPS[self.kind]}:{entry_point.name}) "
            f"failed to import: {e}; reinstall or uninstall the package that provides it"
        ) from e

  def get(self, name: str) -> Callable:
    self.load_entry_points()
    if name not in self._items:
      raise RegistryError(
          f"unknown {self.kind} {name!r}{closest(name, self._items)}; `nevis {self.kind}s` lists them"
      )
    return self._items[name]

  def names(self) -> list[str]:
    self.load_entry_points()
    return sorted(self._items)

  def items(self) -> list[tuple[str, Callable]]:
    return [(n, self._items[n]) for n in self.names()]


def _where(obj) -> str:
  return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


LEARNERS = Registry("learner")
STREAMS = Registry("stream")


def register_learner(name: str):
  """Class decorator: `@nevis.register_learner("my_learner") class MyLearner(nevis.Learner): ...`."""
  return LEARNERS.register(name)


def register_stream(name: str, options: type[Options] | None = None):
  """Function decorator: `@nevis.register_stream("my_stream", options=MyOptions) def build(options) -> nevis.Stream`.

  With `options`, a frozen dataclass subclassing `nevis.options.Options` (a type, a default, a range and a
  line of doc per option), the name is bound to a function of keyword arguments (a run's
  `stream_options`) that parses them into `MyOptions` — unknown keys, wrong types and values out of range
  are one-line ConfigErrors naming the stream — and calls `build` with the result; its `options`
  attribute is the class. Without, `build(**stream_options)` is called as it is.
  """
  def decorate(build: Callable) -> Callable:
    if options is None:
      return STREAMS.register(name)(build)

    @functools.wraps(build)
    def from_options(**mapping):
      try:
        parsed = options.parse(mapping, owner="stream_options")
      except ConfigError as e:
        raise ConfigError(f"stream {name!r}: {e}") from None
      return build(parsed)

    from_options.options = options
    return STREAMS.register(name)(from_options)

  return decorate


def import_modules(modules: Iterable[str]) -> None:
  """Imports user modules (CLI `--import`, YAML `imports:`) so that their decorators run."""
  for module in modules:
    try:
      importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name and module.startswith(e.name):
        raise UserError(f"cannot import {module!r}: no such module; check the name and that it is on PYTHONPATH")
      raise
