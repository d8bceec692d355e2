"""Run configuration: YAML files, `--set key=value` overrides, validation.

A config names its command, big_vision style: `nevis run experiments/previous_mini.yaml`. Every key has
a default below; unknown keys and values of the wrong type are errors that name the fix.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from nevis.errors import ConfigError, closest

DEFAULTS: dict[str, Any] = {
    "stream": "mini",
    "stream_options": {},  # passed to the stream's factory
    "learner": "previous",
    "learner_options": {},  # passed to the learner's constructor
    "imports": [],  # modules to import before looking names up (user learners and streams)
    "seed": 0,
    "evaluate_on": "dev_test",  # or "test", for final numbers
    "evaluate_past": False,  # re-evaluate every seen task after each task (accuracy matrix, forgetting)
    "prequential": "off",  # "blockwise" | "online" | "off"
    "prequential_first_chunk": 10,  # t1 of the geometric chunk boundaries
    "max_train_per_class": None,  # cap each task's training data (low-data regime); None keeps all
    "max_dev_per_class": None,  # cap each task's dev data the same way (dev selection sees no more labels)
    "max_tasks": None,  # stop after this many tasks (smoke runs)
    "allow_missing": False,  # skip tasks whose data is not prepared (recorded as skipped) instead of stopping
    "eval_batch_size": 128,
    "checkpoint_every_steps": 500,  # within-task checkpoints (the learner asks `due(step)`)
}

CHOICES = {
    "evaluate_on": ("dev_test", "test"),
    "prequential": ("off", "blockwise", "online"),
}

NULLABLE_INT = ("max_train_per_class", "max_dev_per_class", "max_tasks")
# Smallest value of each integer key (a bad value would otherwise fail only after a task has trained).
MINIMUM = {"seed": 0, "prequential_first_chunk": 1, "eval_batch_size": 1, "checkpoint_every_steps": 0}
MAXIMUM = {"seed": 2**32 - 1}  # numpy's seed sequences and jax's PRNGKey take 32-bit seeds


def load_yaml(path: str | Path) -> dict:
  path = Path(path)
  if path.is_dir():
    raise ConfigError(f"config file {str(path)!r} is a folder; name a YAML file")
  if not path.is_file():
    raise ConfigError(f"config file {str(path)!r} does not exist; check the path")
  try:
    text = path.read_bytes().decode("utf-8")
  except UnicodeDecodeError as e:
    raise ConfigError(
        f"config file {str(path)!r} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
        "save it as UTF-8"
    ) from None
  except OSError as e:
    raise ConfigError(f"cannot read config file {str(path)!r} ({e.strerror}); check its permissions") from None
  try:
    data = yaml.safe_load(text)
  except yaml.YAMLError as e:
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(e, "problem", None) or "invalid YAML"
    raise ConfigError(f"malformed YAML in {str(path)!r}{where}: {problem}; fix the file") from None
  if data is None:
    return {}
  if not isinstance(data, dict):
    raise ConfigError(f"config file {str(path)!r} must hold a mapping of keys, not {type(data).__name__}")
  return data


def parse_override(text: str) -> tuple[list[str], Any]:
  """'learner_options.num_steps=20' -> (['learner_options', 'num_steps'], 20), the value read as YAML."""
  if "=" not in text:
    raise ConfigError(f"--set {text!r} must look like key=value, e.g. --set seed=1")
  key, raw = text.split("=", 1)
  try:
    value = yaml.safe_load(raw) if raw.strip() else ""
  except yaml.YAMLError:
    value = raw
  return key.strip().split("."), value


def resolve(file_config: dict | None = None, overrides: list[str] = (), **cli) -> dict:
  """Defaults <- YAML <- CLI flags (stream=..., learner=...) <- --set overrides, validated."""
  config = copy.deepcopy(DEFAULTS)
  for source in (file_config or {}), {k: v for k, v in cli.items() if v is not None}:
    for key, value in source.items():
      _check_key(key)
      config[key] = copy.deepcopy(value)
  for text in overrides:
    path, value = parse_override(text)
    _check_key(path[0])
    target = config
    for part in path[:-1]:
      if not isinstance(target.get(part), dict):
        if part not in target or target[part] is None:
          target[part] = {}
        else:
          raise ConfigError(f"--set {text!r}: {part!r} is not a mapping; set it whole instead")
      target = target[part]
    if len(path) == 1:
      if path[0] == "prequential" and value is False:
        value = "off"
      _check_type(path[0], value, f"--set {text}")
    target[path[-1]] = value
  if config["prequential"] is False:  # YAML 1.1 reads a bare `off` as false
    config["prequential"] = "off"
  for key, value in config.items():
    _check_type(key, value, f"config key {key!r}")
  return config


def _check_key(key: str) -> None:
  if key not in DEFAULTS:
    raise ConfigError(f"unknown config key {key!r}{closest(key, DEFAULTS)}; valid keys: {', '.join(DEFAULTS)}")


def _check_type(key: str, value: Any, where: str) -> None:
  default = DEFAULTS[key]
  if key in NULLABLE_INT:
    ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)
    expected = "a positive integer or null"
  elif isinstance(default, bool):
    ok, expected = isinstance(value, bool), "true or false"
  elif isinstance(default, int):
    ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    low, high = MINIMUM.get(key), MAXIMUM.get(key)
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
      ok = False
      expected = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
  elif isinstance(default, str):
    ok, expected = isinstance(value, str), "a string"
  elif isinstance(default, dict):
    ok, expected = isinstance(value, dict) and all(isinstance(k, str) for k in value), "a mapping with text keys"
  elif isinstance(default, list):
    ok, expected = isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"
  else:
    ok, expected = True, ""
  if not ok:
    raise ConfigError(f"{where}: {key} must be {expected}, got {value!r}")
  if key in CHOICES and value not in CHOICES[key]:
    raise ConfigError(f"{where}: {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")


def canonical(config: dict) -> str:
  """A stable text form, to compare the config of a run being resumed with the stored one."""
  return json.dumps(config, sort_keys=True, default=str)


def differences(a: dict, b: dict, prefix: str = "") -> list[str]:
  keys = sorted(set(a) | set(b))
  out = []
  for k in keys:
    va, vb = a.get(k), b.get(k)
    if isinstance(va, dict) and isinstance(vb, dict):
      out += differences(va, vb, f"{prefix}{k}.")
    elif va != vb:
      out.append(f"{prefix}{k}: {va!r} -> {vb!r}")
  return out
