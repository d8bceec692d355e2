"""Typed, documented configuration: every key's type, default, range and meaning in one place.

A config is a frozen dataclass whose fields are declared with `option` (or plain dataclass fields with a
`doc` in their metadata, which lets modules that must not import the harness, such as the layers in
`nevis.learners.nn`, declare theirs):

    @dataclasses.dataclass(frozen=True)
    class LinearConfig(Options):
      image_size: int = option(16, "side of the downscaled input, in pixels", minimum=1)
      learning_rates: tuple[float, ...] = option((0.1,), "one trial per rate, selected on dev", minimum=0)
      select_by: str = option("dev", "how the trial is chosen", choices=("dev", "prequential"))

      def check(self):  # rules between fields
        if ...: self.fail("image_size", "must be ...")

`LinearConfig.parse(mapping, owner="linear")` validates a mapping read from YAML (unknown keys name the
closest one; wrong types and values out of range name the key, the rule and the value) and
`LinearConfig.describe()` lists each field's name, type, default and doc: the one source for validation,
error messages and `nevis learners NAME`. Lists from YAML become tuples (configs are immutable), paths
given in Python become text;
`as_dict()` gives JSON values back. A field may itself be a dataclass (parsed from a nested mapping) or a
free-form `dict`.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import types
import typing
from typing import Any, Mapping

from nevis.errors import ConfigError, closest

_YAML11_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")

_MISSING = dataclasses.MISSING


def option(default: Any, doc: str, *, choices: tuple | None = None, minimum: float | None = None,
           maximum: float | None = None, below: float | None = None) -> Any:
  """A config field: its default, one-line meaning and allowed values.

  `minimum` / `maximum` bound numbers inclusively (each item of a list of numbers), `below` bounds
  them strictly from above; `choices` lists the allowed values (each item of a list of strings).
  """
  metadata = {"doc": doc, "choices": choices, "minimum": minimum, "maximum": maximum, "below": below}
  if isinstance(default, (list, dict, set)):
    raise TypeError("option defaults must be immutable: use a tuple, or a frozen dataclass")
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class OptionDoc:
  """One row of `describe()`."""

  name: str
  type: str
  default: Any
  doc: str


class Options:
  """Mixin of typed configs (subclasses are frozen dataclasses)."""

  @classmethod
  def parse(cls, mapping: Mapping[str, Any] | None = None, *, owner: str | None = None):
    """The config from `mapping` (defaults for missing keys), validated; raises ConfigError."""
    return parse(cls, mapping or {}, owner or cls.__name__)

  @classmethod
  def describe(cls) -> list[OptionDoc]:
    return describe(cls)

  def as_dict(self) -> dict[str, Any]:
    return as_dict(self)

  def replace(self, **changes):
    """A copy with `changes` applied and validated."""
    return type(self).parse({**self.as_dict(), **changes}, owner=type(self).__name__)

  def check(self) -> None:
    """Rules that involve several fields; call `self.fail(key, why)` to reject."""

  def fail(self, key: str, why: str):
    raise ConfigError(f"{_owner_of(self)}.{key} {why}; got {getattr(self, key)!r}")


def parse(cls, mapping: Mapping[str, Any], owner: str):
  if not isinstance(mapping, Mapping):
    raise ConfigError(f"{owner} must be a mapping of keys, got {type(mapping).__name__} {mapping!r}")
  fields = {f.name: f for f in dataclasses.fields(cls)}
  for key in mapping:
    if key not in fields:
      raise ConfigError(f"unknown key {key!r} for {owner}{closest(str(key), fields)}; valid keys: {sorted(fields)}")
  hints = _hints(cls)
  values = {}
  for name, field in fields.items():
    if name in mapping:
      values[name] = _convert(mapping[name], hints[name], field, f"{owner}.{name}")
  try:
    config = cls(**values)
  except TypeError as e:  # a field without a default was not given
    raise ConfigError(f"{owner}: {e}; add the missing key") from None
  except ValueError as e:  # plain dataclasses (layers) validate themselves in __post_init__
    raise ConfigError(f"{owner}: {e}") from None
  if isinstance(config, Options):
    object.__setattr__(config, "_owner", owner)  # for messages of `check`; not a field
    config.check()
  return config


def describe(cls) -> list[OptionDoc]:
  hints = _hints(cls)
  rows = []
  for field in dataclasses.fields(cls):
    default = field.default if field.default is not _MISSING else (
        field.default_factory() if field.default_factory is not _MISSING else None)
    doc = field.metadata.get("doc", "")
    limits = _limits_text(field)
    rows.append(OptionDoc(field.name, _type_name(hints[field.name]), _plain(default),
                          f"{doc}{' (' + limits + ')' if limits else ''}"))
  return rows


def as_dict(config) -> dict[str, Any]:
  return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


# -- conversion and checks ---------------------------------------------------------------------------


def _convert(value: Any, hint: Any, field: dataclasses.Field, where: str) -> Any:
  value = _coerce(value, hint, where)
  _check_limits(value, field, where)
  return value


def _coerce(value: Any, hint: Any, where: str) -> Any:
  origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    if value is None and type(None) in args:
      return None
    options = [a for a in args if a is not type(None)]
    if len(options) == 1 and dataclasses.is_dataclass(options[0]):
      return _coerce(value, options[0], where)  # a nested config's own error names the key inside it
    errors = []
    for option_hint in options:
      try:
        return _coerce(value, option_hint, where)
      except ConfigError as e:
        errors.append(e)
    raise ConfigError(f"{where} must be {' or '.join(_type_name(a) for a in args)}, got {value!r}; fix the value")
  if hint is Any:
    return value
  if dataclasses.is_dataclass(hint):
    if isinstance(value, hint):
      return value
    return parse(hint, value, where)
  if origin in (tuple, list):
    if not isinstance(value, (list, tuple)):
      raise ConfigError(f"{where} must be a list of {_type_name(args[0]) if args else 'values'}, got {value!r}")
    item = args[0] if args else Any
    return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
  if origin is dict or hint is dict:
    if not isinstance(value, Mapping):
      raise ConfigError(f"{where} must be a mapping, got {value!r}; fix the value")
    return dict(value)
  if hint is bool:
    if not isinstance(value, bool):
      raise ConfigError(f"{where} must be true or false, got {value!r}; fix the value")
    return value
  if hint is int:
    if isinstance(value, bool) or not isinstance(value, int):
      raise ConfigError(f"{where} must be an integer, got {value!r}; fix the value")
    return value
  if hint is float:
    if isinstance(value, str) and _YAML11_EXPONENT.fullmatch(value.strip()):
      value = float(value)  # YAML 1.1 reads `1e-3` (no dot) as text; in a number's place it means the number
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise ConfigError(f"{where} must be a number, got {value!r}; fix the value")
    return float(value)
  if hint is str:
    if isinstance(value, os.PathLike):  # a path given in Python is text in a config
      value = os.fspath(value)
    if not isinstance(value, str):
      raise ConfigError(f"{where} must be a string, got {value!r}; fix the value")
    return value
  raise TypeError(f"{where}: unsupported option type {hint!r}")


def _check_limits(value: Any, field: dataclasses.Field, where: str) -> None:
  meta = field.metadata
  items = value if isinstance(value, tuple) else (value,)
  for item in items:
    if item is None:
      continue
    if meta.get("choices") is not None and item not in meta["choices"]:
      raise ConfigError(f"{where} must be one of {', '.join(map(str, meta['choices']))}, got {item!r}")
    if isinstance(item, (int, float)) and not isinstance(item, bool):
      if meta.get("minimum") is not None and item < meta["minimum"]:
        raise ConfigError(f"{where} must be >= {meta['minimum']}, got {value!r}; fix the value")
      if meta.get("maximum") is not None and item > meta["maximum"]:
        raise ConfigError(f"{where} must be <= {meta['maximum']}, got {value!r}; fix the value")
      if meta.get("below") is not None and item >= meta["below"]:
        raise ConfigError(f"{where} must be < {meta['below']}, got {value!r}; fix the value")


def _limits_text(field: dataclasses.Field) -> str:
  meta = field.metadata
  parts = []
  if meta.get("choices") is not None:
    parts.append(" | ".join(map(str, meta["choices"])))
  if meta.get("minimum") is not None:
    parts.append(f">= {meta['minimum']}")
  if meta.get("maximum") is not None:
    parts.append(f"<= {meta['maximum']}")
  if meta.get("below") is not None:
    parts.append(f"< {meta['below']}")
  return ", ".join(parts)


@functools.cache
def _hints(cls) -> dict[str, Any]:
  return typing.get_type_hints(cls)


def _type_name(hint: Any) -> str:
  origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    return " | ".join(_type_name(a) for a in args)
  if origin in (tuple, list):
    return f"list[{_type_name(args[0])}]" if args else "list"
  if hint is type(None):
    return "null"
  if dataclasses.is_dataclass(hint):
    return "mapping"
  if hint is dict or origin is dict:
    return "mapping"
  return getattr(hint, "__name__", str(hint))


def _plain(value: Any) -> Any:
  """JSON-able form: tuples as lists, dataclasses as dicts."""
  if dataclasses.is_dataclass(value) and not isinstance(value, type):
    return as_dict(value)
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  if isinstance(value, dict):
    return {k: _plain(v) for k, v in value.items()}
  return value


def _owner_of(config) -> str:
  return getattr(config, "_owner", type(config).__name__)
