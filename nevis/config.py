"""Run configuration: `RunConfig`, YAML files that may extend others (`base:`), and `--set` overrides.

A config names its command, big_vision style: `nevis run experiments/previous_mini.yaml`. Defaults <- the
YAML file (after its bases) <- command-line flags <- `--set key=value`, then validated as a `RunConfig`:
unknown keys, wrong types and values out of range are one-line errors that name the fix, found before
anything is built.

`base: other.yaml` (a path relative to the file, or a list of them) makes a file extend others: mappings
are merged key by key, all the way down, and the extending file wins (later bases win over earlier ones);
lists and values are replaced whole. A chain of bases that comes back to a file is an error.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from nevis.budget import ComputeBudget
from nevis.errors import ConfigError, closest
from nevis.options import Options, option

BASE_KEY = "base"


def _mapping(doc: str) -> Any:
  return dataclasses.field(default_factory=dict, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class RunConfig(Options):
  """What one run does: its stream, its learner, and how the harness scores and records it."""

  stream: str = option("mini", "the stream to run (`nevis streams` lists them)")
  stream_options: dict = _mapping("the stream's options (its factory's typed options)")
  learner: str = option("previous", "the learner to run (`nevis learners` lists them)")
  learner_options: dict = _mapping("the learner's config, checked by the learner's own config class")
  imports: tuple[str, ...] = option((), "modules to import before names are looked up (your learners and streams)")
  seed: int = option(0, "seed of the run (numpy's and JAX's take 32 bits)", minimum=0, maximum=2**32 - 1)
  evaluate_on: str = option("dev_test", "the split each task is scored on: dev_test as NEVIS, test for final numbers",
                            choices=("dev_test", "test"))
  evaluate_past: bool = option(False, "after each task, score every task seen so far (error matrix, forgetting)")
  prequential: str = option("off", "prequential code length of each task's training labels",
                            choices=("off", "blockwise", "online"))
  prequential_first_chunk: int = option(10, "examples in the first chunk of the blockwise code", minimum=1)
  max_train_per_class: int | None = option(None, "cap on each task's training examples per class (low-data "
                                                 "regime); null keeps all", minimum=1)
  max_dev_per_class: int | None = option(None, "the same cap on dev, so selection sees no more labels; null keeps "
                                               "all", minimum=1)
  max_tasks: int | None = option(None, "stop after this many tasks (smoke runs); null runs them all", minimum=1)
  allow_missing: bool = option(False, "skip tasks whose data is not prepared (recorded as skipped) instead of "
                                      "stopping")
  eval_batch_size: int = option(128, "images per predict call when the harness scores the learner", minimum=1)
  checkpoint_every_steps: int = option(500, "steps between within-task checkpoints (the learner asks `due(step)`); "
                                            "0: none", minimum=0)
  loggers: tuple[str, ...] = option((), "where else the run's numbers go: tensorboard (event files in "
                                        "WORKDIR/tensorboard), wandb (Weights & Biases, offline unless WANDB_MODE "
                                        "says otherwise), or a plug-in's")
  name: str | None = option(None, "label of this configuration in `nevis report` and `nevis plot` (default: the "
                                  "learner and the config keys that differ between the compared runs)")
  compute_budget: ComputeBudget | None = option(None, "training FLOPs allowed, enforced by the meter: {flops: 1e12, "
                                                      "per: task | stream}; null: no budget")

  def check(self) -> None:
    for key in ("stream_options", "learner_options"):
      if not all(isinstance(k, str) for k in getattr(self, key)):
        self.fail(key, "must be a mapping with text keys")
    if self.name is not None and not self.name.strip():
      self.fail("name", "must not be blank (or null for the default label)")


KEYS = tuple(field.name for field in dataclasses.fields(RunConfig))


def load_yaml(path: str | Path) -> dict:
  """The mapping of a YAML config file, its bases merged in (see the module's docstring)."""
  return _load(Path(path), ())


def _load(path: Path, extending: tuple[Path, ...]) -> dict:
  data = _read_mapping(path)
  bases = data.pop(BASE_KEY, None)
  if bases is None:
    return data
  if isinstance(bases, str):
    bases = [bases]
  if not isinstance(bases, list) or not bases or not all(isinstance(b, str) for b in bases):
    raise ConfigError(f"{BASE_KEY}: in {str(path)!r} must be a file name or a list of them, got {bases!r}")
  chain = extending + (path.resolve(),)
  merged: dict = {}
  for name in bases:
    base = path.parent / name
    if base.resolve() in chain:
      cycle = " -> ".join(repr(p.name) for p in chain[chain.index(base.resolve()):] + (base.resolve(),))
      raise ConfigError(f"config files extend each other in a cycle ({cycle}); remove one of these `{BASE_KEY}:`")
    if not base.is_file():
      raise ConfigError(f"{BASE_KEY}: {name!r} of {str(path)!r} does not exist ({str(base)!r}); give its path "
                        "relative to that file")
    merged = merge(merged, _load(base, chain))
  return merge(merged, data)


def merge(base: dict, extension: dict) -> dict:
  """`base` extended by `extension`: mappings merged key by key, everything else replaced by the extension's."""
  out = copy.deepcopy(base)
  for key, value in extension.items():
    if isinstance(value, dict) and isinstance(out.get(key), dict):
      out[key] = merge(out[key], value)
    else:
      out[key] = copy.deepcopy(value)
  return out


def read_mapping(path: str | Path) -> dict:
  """The mapping of one YAML file as written (its `base:` not followed); one-line ConfigErrors otherwise."""
  return _read_mapping(Path(path))


def _read_mapping(path: Path) -> dict:
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


def resolve(file_config: dict | None = None, overrides: list[str] = (), base: dict | None = None, **cli) -> RunConfig:
  """`base` (the defaults) <- YAML <- CLI flags (stream=..., learner=...) <- --set overrides, validated.

  The YAML file's mappings are merged into the base's key by key (with the defaults as base, that is
  replacing them); flags and --set replace what they name."""
  config = copy.deepcopy(base) if base is not None else RunConfig().as_dict()
  for key in file_config or {}:
    _check_key(key)
  config = merge(config, file_config or {})
  for key, value in cli.items():
    if value is not None:
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
    value = _yaml_number(path, value)
    if len(path) == 1:
      value = _yaml_off(path[0], value)
      try:  # checked here, so that the error names the --set that set it
        RunConfig.parse({path[0]: value}, owner="config")
      except ConfigError as e:
        raise ConfigError(f"--set {text}: {e}") from None
    target[path[-1]] = value
  config["prequential"] = _yaml_off("prequential", config["prequential"])
  config["compute_budget"] = _yaml_number(["compute_budget"], config["compute_budget"])
  return RunConfig.parse(config, owner="config")


def _yaml_off(key: str, value: Any) -> Any:
  """YAML 1.1 reads a bare `off` as false: `prequential: off` means "off"."""
  return "off" if key == "prequential" and value is False else value


def _yaml_number(path: list[str], value: Any) -> Any:
  """YAML 1.1 reads `1e12` (no dot) as text: `compute_budget: {flops: 1e12}` means the number."""
  if path == ["compute_budget"] and isinstance(value, dict):
    return {**value, "flops": _yaml_number(["compute_budget", "flops"], value["flops"])} if "flops" in value else value
  if path == ["compute_budget", "flops"] and isinstance(value, str):
    try:
      return float(value)
    except ValueError:
      return value
  return value


def _check_key(key: str) -> None:
  if key not in KEYS:
    raise ConfigError(f"unknown config key {key!r}{closest(key, KEYS)}; valid keys: {', '.join(KEYS)}")


def complete(stored: dict) -> dict:
  """A config stored by a run (JSON values) with the keys added since then at their defaults, which is what
  that run ran with."""
  return {**RunConfig().as_dict(), **copy.deepcopy(stored)}


def differences(a: dict, b: dict, prefix: str = "") -> list[str]:
  """'key: old -> new' for every value that differs between two configs, nested keys dotted."""
  keys = sorted(set(a) | set(b))
  out = []
  for k in keys:
    va, vb = a.get(k), b.get(k)
    if isinstance(va, dict) and isinstance(vb, dict):
      out += differences(va, vb, f"{prefix}{k}.")
    elif va != vb:
      out.append(f"{prefix}{k}: {va!r} -> {vb!r}")
  return out
