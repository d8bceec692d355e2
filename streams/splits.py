"""NEVIS'22's split recipes as pure functions of example counts and per-example metadata.

A recipe returns a `SplitPlan`: for each of nevis's splits (train, dev, dev_test, test) the examples it
takes, as (official split, example indices) pairs in order. Official splits are whatever the source ships
("train", "validation", "test", or "all" for a dataset with no official split).

Facts follow google-deepmind/dm_nevis at 37ccf1e:
- TFDS recipes (`streams/nevis_stream.py::_dataset_splits_for_tfds`) cut contiguous index ranges with
  `int(n * fraction)` boundaries.
- Custom-dataset recipes (`datasets_storage/handlers/splits.py`) draw, for each example in order, one
  multinomial sample from `np.random.RandomState(0)` over the splits' fractions in *sorted split-name
  order* ("dev" < "dev-test" < "test" < "train"), and take the argmax as the example's split.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from nevis.task import SPLITS

SplitPlan = dict[str, list[tuple[str, np.ndarray]]]

# dm_nevis's fractions, keyed by its own split names (their sorted order fixes the draw).
FRACTIONS_ALL_DATA = {"train": 0.56, "dev": 0.12, "dev-test": 0.12, "test": 0.2}
FRACTIONS_TRAIN = {"train": 0.7, "dev": 0.15, "dev-test": 0.15}
FRACTIONS_TRAIN_AND_DEV_ONLY = {"train": 0.8, "dev": 0.2}
SPLIT_SEED = 0

# COIL-100: view-angle bins of 5 degrees (72 per object).
COIL_NUM_BINS = 72
COIL_BINS = {"train": (70, 71, 0, 1, 2), "dev": (16, 17, 18, 19, 20), "dev_test": (50, 51, 52, 53, 54)}
# smallNORB: object instances of TFDS's train split.
NORB_INSTANCES = {"train": (7, 8, 9), "dev": (4,), "dev_test": (6,)}


def _nevis_name(dm_nevis_split: str) -> str:
  return dm_nevis_split.replace("-", "_")


def _indices(start: int, stop: int) -> np.ndarray:
  return np.arange(start, stop, dtype=np.int64)


def empty_plan() -> SplitPlan:
  return {split: [] for split in SPLITS}


def plan_sizes(plan: SplitPlan) -> dict[str, int]:
  return {split: int(sum(len(idx) for _, idx in parts)) for split, parts in plan.items()}


def check_plan(plan: SplitPlan, counts: Mapping[str, int]) -> None:
  """Raises ValueError unless the plan names every split and its indices are in range and disjoint."""
  if set(plan) != set(SPLITS):
    raise ValueError(f"a split plan needs exactly {SPLITS}, got {sorted(plan)}")
  seen: dict[str, set[int]] = {}
  for split, parts in plan.items():
    for official, idx in parts:
      if official not in counts:
        raise ValueError(f"split {split!r} takes from unknown official split {official!r}")
      if len(idx) and (idx.min() < 0 or idx.max() >= counts[official]):
        raise ValueError(f"split {split!r}: indices of {official!r} out of range [0, {counts[official]})")
      taken = seen.setdefault(official, set())
      new = set(idx.tolist())
      if len(new) != len(idx) or taken & new:
        raise ValueError(f"split {split!r}: examples of {official!r} used twice")
      taken |= new


# -- seeded multinomial (custom datasets) -----------------------------------------------------------


def multinomial_assignment(count: int, fractions: Mapping[str, float], seed: int = SPLIT_SEED) -> np.ndarray:
  """dm_nevis's per-example draw: the nevis split name of each of `count` examples, in order."""
  names = sorted(fractions)
  probabilities = [fractions[name] for name in names]
  if not np.isclose(sum(probabilities), 1.0):
    raise ValueError(f"fractions must sum to 1, got {fractions}")
  random_state = np.random.RandomState(seed=seed)
  # One draw per example, in order, exactly as dm_nevis does (a vectorised draw would consume the
  # generator differently for some numpy versions).
  drawn = np.fromiter(
      (np.argmax(random_state.multinomial(1, probabilities)) for _ in range(count)), np.int64, count
  )
  return np.array([_nevis_name(name) for name in names])[drawn] if count else np.array([], dtype=str)


def _by_assignment(official: str, assignment: np.ndarray, plan: SplitPlan) -> None:
  for split in SPLITS:
    where = np.flatnonzero(assignment == split)
    if len(where):
      plan[split].append((official, where))


def recipe_all(counts: Mapping[str, int], seed: int = SPLIT_SEED) -> SplitPlan:
  """A: all data (the official splits concatenated in the given order) -> 0.56/0.12/0.12/0.20."""
  plan = empty_plan()
  order = list(counts)
  assignment = multinomial_assignment(sum(counts.values()), FRACTIONS_ALL_DATA, seed)
  offset = 0
  for official in order:
    _by_assignment(official, assignment[offset:offset + counts[official]], plan)
    offset += counts[official]
  return plan


def recipe_train(counts: Mapping[str, int], seed: int = SPLIT_SEED) -> SplitPlan:
  """T: official train -> 0.70/0.15/0.15 train/dev/dev_test; official test is test."""
  _require(counts, ("train", "test"), "T")
  plan = empty_plan()
  _by_assignment("train", multinomial_assignment(counts["train"], FRACTIONS_TRAIN, seed), plan)
  plan["test"].append(("test", _indices(0, counts["test"])))
  return plan


def recipe_train_and_dev(counts: Mapping[str, int], seed: int = SPLIT_SEED) -> SplitPlan:
  """TD: official train -> 0.8/0.2 train/dev; official validation is dev_test; official test is test."""
  _require(counts, ("train", "validation", "test"), "TD")
  plan = empty_plan()
  _by_assignment("train", multinomial_assignment(counts["train"], FRACTIONS_TRAIN_AND_DEV_ONLY, seed), plan)
  plan["dev_test"].append(("validation", _indices(0, counts["validation"])))
  plan["test"].append(("test", _indices(0, counts["test"])))
  return plan


# -- contiguous (TFDS datasets) -------------------------------------------------------------------


def recipe_tt(counts: Mapping[str, int]) -> SplitPlan:
  """TT: TFDS train cut 70/15/15 contiguously; TFDS test is test."""
  _require(counts, ("train", "test"), "TT")
  n = counts["train"]
  n_train, n_dev = int(n * 0.7), int(n * 0.15)
  return {
      "train": [("train", _indices(0, n_train))],
      "dev": [("train", _indices(n_train, n_train + n_dev))],
      "dev_test": [("train", _indices(n_train + n_dev, n))],
      "test": [("test", _indices(0, counts["test"]))],
  }


def recipe_tvt(counts: Mapping[str, int]) -> SplitPlan:
  """TVT: TFDS train cut 80/20 into train/dev; validation is dev_test; test is test."""
  _require(counts, ("train", "validation", "test"), "TVT")
  n_train = int(counts["train"] * 0.8)
  return {
      "train": [("train", _indices(0, n_train))],
      "dev": [("train", _indices(n_train, counts["train"]))],
      "dev_test": [("validation", _indices(0, counts["validation"]))],
      "test": [("test", _indices(0, counts["test"]))],
  }


def recipe_imagenet(counts: Mapping[str, int]) -> SplitPlan:
  """IN: TFDS train cut 90/5/5; the official validation set is test."""
  _require(counts, ("train", "validation"), "IN")
  n = counts["train"]
  n_train, n_dev = int(n * 0.9), int(n * 0.05)
  return {
      "train": [("train", _indices(0, n_train))],
      "dev": [("train", _indices(n_train, n_train + n_dev))],
      "dev_test": [("train", _indices(n_train + n_dev, n))],
      "test": [("validation", _indices(0, counts["validation"]))],
  }


def recipe_voc2012(counts: Mapping[str, int]) -> SplitPlan:
  """V12: TFDS train cut 80/20 into train/dev; validation halved into dev_test then test."""
  _require(counts, ("train", "validation"), "V12")
  n_train = int(counts["train"] * 0.8)
  n_dev_test = int(counts["validation"] * 0.5)
  return {
      "train": [("train", _indices(0, n_train))],
      "dev": [("train", _indices(n_train, counts["train"]))],
      "dev_test": [("validation", _indices(0, n_dev_test))],
      "test": [("validation", _indices(n_dev_test, counts["validation"]))],
  }


# -- metadata-driven ------------------------------------------------------------------------------


def by_group(
    groups: Sequence, split_of_group: Mapping, *, official: str = "all", others: str | None = None
) -> SplitPlan:
  """Each example goes to the split of its group (pose, instance, person, domain, view bin...).

  Groups not in `split_of_group` go to `others` (a split name) or raise when `others` is None.
  """
  plan = empty_plan()
  names = []
  for group in groups:
    split = split_of_group.get(group, others)
    if split is None:
      raise ValueError(f"group {group!r} has no split")
    names.append(split)
  _by_assignment(official, np.array(names, dtype=object), plan)
  return plan


def coil_view_bins(angle_bins: Sequence[int], *, official: str = "all") -> SplitPlan:
  """COIL: bins 70,71,0,1,2 train; 16-20 dev; 50-54 dev_test; the other 57 bins test."""
  split_of_bin = {b: split for split, bins in COIL_BINS.items() for b in bins}
  bins = [int(b) for b in angle_bins]
  if any(not 0 <= b < COIL_NUM_BINS for b in bins):
    raise ValueError(f"COIL view-angle bins must be in [0, {COIL_NUM_BINS})")
  return by_group(bins, split_of_bin, official=official, others="test")


def norb_instances(train_instances: Sequence[int], test_count: int) -> SplitPlan:
  """NORB: TFDS train by instance (4 dev, 6 dev_test, 7/8/9 train); TFDS test is test."""
  split_of_instance = {i: split for split, ids in NORB_INSTANCES.items() for i in ids}
  plan = by_group([int(i) for i in train_instances], split_of_instance, official="train")
  plan["test"].append(("test", _indices(0, test_count)))
  return plan


def per_class_holdout(
    labels: Sequence[int], *, test_fraction: float = 0.2, seed: int = SPLIT_SEED, official: str = "all"
) -> SplitPlan:
  """Per class: a seeded permutation, `test_fraction` test, the rest 70/15/15 train/dev/dev_test."""
  labels = np.asarray(labels)
  rng = np.random.RandomState(seed)
  plan = empty_plan()
  chosen: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
  for label in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == label))
    n_test = int(round(len(members) * test_fraction))
    rest = members[n_test:]
    n_train, n_dev = int(len(rest) * 0.7), int(len(rest) * 0.15)
    chosen["test"].append(members[:n_test])
    chosen["train"].append(rest[:n_train])
    chosen["dev"].append(rest[n_train:n_train + n_dev])
    chosen["dev_test"].append(rest[n_train + n_dev:])
  for split in SPLITS:
    if chosen[split]:
      plan[split].append((official, np.sort(np.concatenate(chosen[split]))))
  return plan


def _require(counts: Mapping[str, int], names: Iterable[str], recipe: str) -> None:
  missing = [n for n in names if n not in counts]
  if missing:
    raise ValueError(f"recipe {recipe} needs official splits {tuple(names)}; missing {missing}")


COUNT_RECIPES = {
    "A": recipe_all,
    "T": recipe_train,
    "TD": recipe_train_and_dev,
    "TT": recipe_tt,
    "TVT": recipe_tvt,
    "IN": recipe_imagenet,
    "V12": recipe_voc2012,
}


def plan_from_counts(recipe: str, counts: Mapping[str, int]) -> SplitPlan:
  """The plan of a recipe that needs only counts (A, T, TD, TT, TVT, IN, V12)."""
  code = recipe.partition(":")[0]
  if code not in COUNT_RECIPES:
    raise ValueError(f"recipe {recipe!r} needs per-example metadata; the handler must plan its splits")
  plan = COUNT_RECIPES[code](counts)
  check_plan(plan, counts)
  return plan
