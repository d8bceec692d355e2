"""String registries for learners, streams and loggers.

Built-in and third-party plug-ins register the same way: a module that applies `@register_learner` /
`@register_stream`, named by an entry point in the group `nevis.learners` / `nevis.streams` (the entry
point's value names that module), or imported with `--import module`. The core never imports a plug-in by
name.

A module may also *declare* names without importing what they name (`declare_learner("name",
"package.module:Class")`): the object is imported when it is first used, and listing the names reads the
first line of its docstring from the source. The built-in learners are declared this way, so that
`nevis learners` does not import JAX.

A plug-in that fails to import (any exception) costs one warning line; the command goes on, and only a name
that plug-in may have provided fails, saying why.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from typing import Callable, Iterable

from nevis.errors import ConfigError, RegistryError, UserError, closest
from nevis.options import Options

ENTRY_POINT_GROUPS = {"learner": "nevis.learners", "stream": "nevis.streams", "logger": "nevis.loggers"}


class Registry:
  def __init__(self, kind: str):
    self.kind = kind
    self._items: dict[str, Callable] = {}
    self._declared: dict[str, str] = {}  # name -> "module:attribute", not imported yet
    self._broken: list[str] = []  # one line per plug-in that failed to import
    self._entry_points_loaded = False

  def register(self, name: str):
    def decorate(obj):
      existing = self._items.get(name)
      if existing is not None and existing is not obj:
        raise RegistryError(
            f"{self.kind} {name!r} is registered twice ({_where(existing)} and {_where(obj)}); rename one"
        )
      declared = self._declared.pop(name, None)
      if declared is not None and declared != _target(obj):
        raise RegistryError(f"{self.kind} {name!r} is declared as {declared} but registered by {_target(obj)}; "
                            "make the declaration name the registered object")
      self._items[name] = obj
      return obj

    return decorate

  def declare(self, name: str, target: str) -> None:
    """Names `target` ("package.module:attribute", which registers itself under `name` when imported)
    without importing it."""
    if ":" not in target:
      raise RegistryError(f"{self.kind} {name!r}: declaration {target!r} must look like 'package.module:Name'")
    existing = self._items.get(name)
    if existing is not None:
      if _target(existing) != target:
        raise RegistryError(f"{self.kind} {name!r} is registered twice ({_where(existing)} and {target}); "
                            "rename one")
      return
    if self._declared.setdefault(name, target) != target:
      raise RegistryError(f"{self.kind} {name!r} is declared twice ({self._declared[name]} and {target}); "
                          "rename one")

  def load_entry_points(self) -> None:
    if self._entry_points_loaded:
      return
    self._entry_points_loaded = True
    group = ENTRY_POINT_GROUPS[self.kind]
    for entry_point in importlib.metadata.entry_points(group=group):
      try:
        entry_point.load()  # importing the module runs its @register_* decorators
      except Exception as e:  # one broken plug-in must not break every command
        line = (f"plug-in {entry_point.value!r} (entry point {group}:{entry_point.name}) failed to import "
                f"({_one_line(e)}); its {self.kind}s are unavailable: reinstall or uninstall the package that "
                "provides it")
        self._broken.append(line)
        print(f"nevis: warning: {line}", file=sys.stderr)

  def get(self, name: str) -> Callable:
    self.load_entry_points()
    if name not in self._items and name in self._declared:
      self._import_declared(name)
    if name not in self._items:
      broken = f"; {self._broken[0]}" if self._broken else ""
      raise RegistryError(
          f"unknown {self.kind} {name!r}{closest(name, self.names())}; `nevis {self.kind}s` lists them{broken}"
      )
    return self._items[name]

  def names(self) -> list[str]:
    self.load_entry_points()
    return sorted(set(self._items) | set(self._declared))

  def items(self) -> list[tuple[str, Callable]]:
    """Every name with its object (imports every declared one)."""
    return [(n, self.get(n)) for n in self.names()]

  def name_of(self, obj) -> str | None:
    """The name `obj` is registered under, or None; imports nothing (a registered object is imported)."""
    return next((name for name, registered in self._items.items() if registered is obj), None)

  def summary(self, name: str) -> str:
    """The first line of the docstring of what `name` names, read from the source when not imported yet."""
    self.load_entry_points()
    if name in self._declared and name not in self._items:
      text = _docstring_in_source(self._declared[name])
      if text is not None:
        return _first_line(text)
    return _first_line(getattr(self.get(name), "__doc__", None))

  def _import_declared(self, name: str) -> None:
    target = self._declared[name]
    module, _, attribute = target.partition(":")
    try:
      importlib.import_module(module)
    except Exception as e:
      raise RegistryError(f"{self.kind} {name!r}: {module!r} failed to import ({_one_line(e)}); "
                          f"`python -c 'import {module}'` shows the traceback") from e
    if name not in self._items:
      self._declared.pop(name, None)
      raise RegistryError(f"{self.kind} {name!r} is declared as {target}, but importing {module!r} did not "
                          f"register it; decorate {attribute} with @register_{self.kind}({name!r})")


def _target(obj) -> str:
  return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def _where(obj) -> str:
  return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _first_line(doc: str | None) -> str:
  lines = (doc or "").strip().splitlines()
  return lines[0].strip() if lines else ""


def _one_line(error: BaseException) -> str:
  text = " ".join(str(error).split())
  frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
  where = f" at {os.path.basename(frame[0].filename)}:{frame[0].lineno}" if frame else ""
  return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


def _docstring_in_source(target: str) -> str | None:
  """The docstring of a module's top-level class or function, parsed from its file (nothing imported but
  the module's parent packages); None when it cannot be found that way."""
  module, _, attribute = target.partition(":")
  try:
    spec = importlib.util.find_spec(module)
    with open(spec.origin, encoding="utf-8") as f:
      tree = ast.parse(f.read())
  except (ImportError, AttributeError, TypeError, ValueError, OSError, SyntaxError):
    return None
  for node in tree.body:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == attribute:
      return ast.get_docstring(node)
  return None


LEARNERS = Registry("learner")
STREAMS = Registry("stream")
LOGGERS = Registry("logger")


def register_learner(name: str):
  """Class decorator: `@nevis.register_learner("my_learner") class MyLearner(nevis.Learner): ...`."""
  return LEARNERS.register(name)


def declare_learner(name: str, target: str) -> None:
  """`declare_learner("my_learner", "my_package.learner:MyLearner")`: registered when first used."""
  LEARNERS.declare(name, target)


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


def register_logger(name: str):
  """Class decorator for a `nevis.loggers.Logger`: `loggers: [name]` in a run's config uses it."""
  return LOGGERS.register(name)


def import_modules(modules: Iterable[str]) -> None:
  """Imports user modules (CLI `--import`, YAML `imports:`) so that their decorators run. Modules in the
  current folder are found too (after the installed ones), as `python -m` would."""
  modules = list(modules)
  if modules and os.getcwd() not in sys.path and "" not in sys.path:
    sys.path.append(os.getcwd())
  for module in modules:
    try:
      importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name and module.startswith(e.name):
        raise UserError(f"cannot import {module!r}: no such module in the current folder or on PYTHONPATH; "
                        "check the name (a module, e.g. my_learners for ./my_learners.py)") from None
      raise UserError(f"cannot import {module!r}: {_one_line(e)}; install what it needs") from e
    except UserError:
      raise
    except Exception as e:  # the user's own module raised while importing
      raise UserError(f"cannot import {module!r}: it raised {_one_line(e)}; fix the module") from e
