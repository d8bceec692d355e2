"""Handlers of NEVIS'22's custom datasets, by the name the catalogue uses in `handler:<name>`.

One module per handler, named as the handler, defining `HANDLER`: adding a file is all it takes.
Modules are imported only when a handler is asked for, so listing what exists costs nothing.
"""
from __future__ import annotations

import importlib
import pkgutil

_NOT_HANDLERS = {"base"}


def _discover() -> dict[str, str]:
  return {m.name: m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_HANDLERS and not m.name.startswith("_")}


# handler name -> module in this package defining `HANDLER`.
HANDLER_MODULES: dict[str, str] = _discover()


def has_handler(name: str) -> bool:
  return name in HANDLER_MODULES


def get_handler(name: str):
  """The `Handler` registered as `name`; KeyError naming the known ones otherwise."""
  if name not in HANDLER_MODULES:
    raise KeyError(f"no handler {name!r} yet; written so far: {sorted(HANDLER_MODULES)}")
  module = importlib.import_module(f"{__name__}.{HANDLER_MODULES[name]}")
  return module.HANDLER
