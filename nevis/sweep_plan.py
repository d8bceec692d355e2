"""A sweep file and the runs it stands for: one run per (configuration of the grid, seed).

    base: ../experiments/linear_mini.yaml   # a run config (a path relative to this file), or the config inline
    grid:                                   # config key -> values; the product of all keys is taken
      learner_options.learning_rate: [0.01, 0.1]
      learner_options.num_steps: [100, 300]
    seeds: [0, 1, 2]                        # or {start: 0, stop: 3}; default: the base config's seed
    executor: {name: local, workers: 2}     # optional; `nevis sweep` flags win (nevis.sweep_executors)

Grid keys are dotted as in `nevis run --set` (`learner_options.learning_rate`); `seed` is set by `seeds:`.
Every run's config is resolved and validated here, before any run starts: a bad key or value anywhere in the
grid is one line naming the run and the fix. Each run is named so a person can read it, from the last part
of each grid key and its value (`learning_rate=0.1,num_steps=300,seed=2`): the name of its workdir.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

from nevis import config as config_lib
from nevis.config import RunConfig
from nevis.errors import ConfigError, closest

SWEEP_KEYS = ("base", "grid", "seeds", "executor")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,-]+")
_NAME_LIMIT = 120  # characters of a run's folder name (file systems allow 255 bytes)


@dataclasses.dataclass(frozen=True)
class PlannedRun:
  """One run of a sweep: its folder name, its seed, the grid point it comes from and its whole config."""

  name: str
  seed: int
  point: dict
  config: RunConfig


@dataclasses.dataclass(frozen=True)
class Sweep:
  runs: tuple[PlannedRun, ...]
  executor: dict  # the file's `executor:` section (checked by nevis.sweep_executors)
  num_configurations: int
  num_seeds: int


def load_sweep(path: str | Path, imports: list[str] = ()) -> Sweep:
  """The runs of a sweep file, every config validated; ConfigError (one line) otherwise. `imports` (from
  `nevis --import`) join every run's `imports`, as for `nevis run`."""
  path = Path(path)
  data = config_lib.read_mapping(path)
  for key in data:
    if key not in SWEEP_KEYS:
      raise ConfigError(f"unknown key {key!r} in sweep file {str(path)!r}{closest(str(key), SWEEP_KEYS)}; valid "
                        f"keys: {', '.join(SWEEP_KEYS)}")
  base = _base(data.get("base"), path)
  if imports:
    base["imports"] = list(base.get("imports") or []) + list(imports)
  grid = _grid(data.get("grid"), path)
  seeds = _seeds(data.get("seeds", base.get("seed", RunConfig.seed)), path)
  executor = data.get("executor") or {}
  if isinstance(executor, str):
    executor = {"name": executor}
  if not isinstance(executor, dict):
    raise ConfigError(f"executor: in {str(path)!r} must be local, ray or a mapping such as {{name: ray, workers: 2}}")
  points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
  labels = _point_labels(points, list(grid))
  runs, taken = [], set()
  for point, label in zip(points, labels):
    for seed in seeds:
      name = _unique(",".join(label), f"seed={seed}", taken)
      runs.append(PlannedRun(name, seed, point, _run_config(base, point, seed, name, path)))
  return Sweep(tuple(runs), executor, len(points), len(seeds))


def _base(base: Any, path: Path) -> dict:
  if base is None:
    return {}
  if isinstance(base, str):
    file = path.parent / base
    if not file.is_file():
      raise ConfigError(f"base: {base!r} of sweep file {str(path)!r} does not exist ({str(file)!r}); give the run "
                        "config's path relative to the sweep file")
    return config_lib.load_yaml(file)
  if isinstance(base, dict):
    if config_lib.BASE_KEY in base:
      raise ConfigError(f"base: of sweep file {str(path)!r} is an inline config that extends another; write it in "
                        "a file and name that file in base:")
    return copy.deepcopy(base)
  raise ConfigError(f"base: in {str(path)!r} must be a run config's path or a mapping, got {base!r}")


def _grid(grid: Any, path: Path) -> dict[str, list]:
  if grid is None:
    return {}
  if not isinstance(grid, dict):
    raise ConfigError(f"grid: in {str(path)!r} must map config keys to lists of values, e.g. "
                      "{learner_options.learning_rate: [0.01, 0.1]}")
  for key, values in grid.items():
    if not isinstance(key, str) or key.split(".")[0] not in config_lib.KEYS:
      first = str(key).split(".")[0]
      raise ConfigError(f"grid key {key!r} in {str(path)!r} is not a config key{closest(first, config_lib.KEYS)}; "
                        f"valid keys: {', '.join(config_lib.KEYS)}")
    if key == "seed":
      raise ConfigError(f"grid key 'seed' in {str(path)!r}: seeds are listed under seeds:, not in grid:")
    if not isinstance(values, list) or not values:
      raise ConfigError(f"grid key {key!r} in {str(path)!r} must have a non-empty list of values, got {values!r}")
  return grid


def _seeds(seeds: Any, path: Path) -> list[int]:
  if isinstance(seeds, dict) and set(seeds) == {"start", "stop"}:
    start, stop = seeds["start"], seeds["stop"]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop)) and 0 <= start < stop:
      return list(range(start, stop))
  elif isinstance(seeds, int) and not isinstance(seeds, bool):
    seeds = [seeds]
  if isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
    if len(set(seeds)) != len(seeds):
      raise ConfigError(f"seeds: in {str(path)!r} lists a seed twice ({seeds}); list each seed once")
    return seeds
  raise ConfigError(f"seeds: in {str(path)!r} must be a list of integers or {{start: 0, stop: 3}} (stop not "
                    f"included), got {seeds!r}")


def _run_config(base: dict, point: dict, seed: int, name: str, path: Path) -> RunConfig:
  mapping = copy.deepcopy(base)
  for key, value in point.items():
    target, parts = mapping, key.split(".")
    for part in parts[:-1]:
      if target.get(part) is None:
        target[part] = {}
      if not isinstance(target[part], dict):
        raise ConfigError(f"grid key {key!r} in {str(path)!r}: {part!r} is not a mapping in the base config")
      target = target[part]
    target[parts[-1]] = copy.deepcopy(value)
  mapping["seed"] = seed
  try:
    return config_lib.resolve(mapping)
  except ConfigError as e:
    raise ConfigError(f"sweep {str(path)!r}, run {name}: {e}") from None


def _point_labels(points: list[dict], keys: list[str]) -> list[list[str]]:
  """'last_key_part=value' for each grid key of each point; the whole dotted key where last parts clash."""
  short = [k.split(".")[-1] for k in keys]
  shown = [k if short.count(s) > 1 else s for k, s in zip(keys, short)]
  return [[f"{label}={_value_text(point[key])}" for key, label in zip(keys, shown)] for point in points]


def _value_text(value: Any) -> str:
  if isinstance(value, (list, tuple)):
    return "-".join(_value_text(v) for v in value)
  if isinstance(value, dict):
    return "-".join(f"{k}-{_value_text(v)}" for k, v in value.items())
  return str(value).lower() if isinstance(value, bool) else str(value)


def _unique(label: str, seed: str, taken: set[str]) -> str:
  label = _NAME_UNSAFE.sub("_", label).strip("._")[:_NAME_LIMIT]
  name = f"{label},{seed}" if label else seed
  candidate, i = name, 1
  while candidate in taken:  # two values that read the same once made safe for a file name
    i += 1
    candidate = f"{label}+{i},{seed}"
  taken.add(candidate)
  return candidate
