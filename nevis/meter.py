"""Compute metering: the harness, not the learner, counts FLOPs.

`task.jit(fn, ...)` is how learners compile. Each distinct call signature is counted once (XLA cost
analysis of a CPU lowering, with loop bodies multiplied by their trip counts; see `nevis.metrics.flops`)
and every call adds its count to the category the runner is charging: training (every hyper-parameter
trial included), prequential scoring, or evaluation. Eager JAX operations run by the learner are charged
the same way through `nevis.guard`, which also refuses unmetered compiled work.

A run's `compute_budget` (`nevis.budget`) is enforced here: inside `budgeted()` (around each
`learner.train` call) a metered call, compiled or eager, whose FLOPs would take the category's charged
total past the allowance raises `BudgetExhausted` before it runs, and is counted in `totals.refused`.

What a learner is handed holds no reference to the meter: `task.jit` is a `MeteredJit` and its functions
are `MeteredFunction`s, both of which know the meter only by a number looked up here at call time.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import time
import weakref
from typing import Callable

import jax

from nevis import guard
from nevis.budget import ComputeBudget, exhausted_message
from nevis.errors import BudgetExhausted
from nevis.metrics import flops as flops_lib

CATEGORIES = ("train", "prequential", "eval")

_METERS: "weakref.WeakValueDictionary[int, ComputeMeter]" = weakref.WeakValueDictionary()
# Learners may call task.jit functions from several threads at once (parallel trials): `+=` on a shared total
# is not atomic, so every update of a meter's totals holds this lock.
_TOTALS_LOCK = threading.Lock()
_keys = itertools.count(1)


@dataclasses.dataclass
class MeterTotals:
  flops: dict[str, float] = dataclasses.field(default_factory=lambda: {c: 0.0 for c in CATEGORIES})
  calls: int = 0  # task.jit calls
  eager_flops: float = 0.0  # of eager JAX operations run by the learner (in `flops` too)
  # Helper work the learner declared (`task.unmetered`) in the current task; the runner resets it per task.
  helper: dict = dataclasses.field(default_factory=dict)
  # Calls refused by the compute budget, per category (checkpointed with the rest, so a resumed task
  # knows that its budget bound).
  refused: dict[str, int] = dataclasses.field(default_factory=lambda: {c: 0 for c in CATEGORIES})

  def as_dict(self) -> dict:
    return {"flops": dict(self.flops), "calls": self.calls, "eager_flops": self.eager_flops,
            "helper": dict(self.helper), "refused": dict(self.refused)}

  @classmethod
  def from_dict(cls, d: dict) -> "MeterTotals":
    helper = dict(d.get("helper") or {})
    if "reasons" in helper:  # checkpoints may return lists as dicts of their items
      reasons = helper["reasons"]
      helper["reasons"] = [reasons[k] for k in sorted(reasons, key=int)] if isinstance(reasons, dict) else list(reasons)
    refused = d.get("refused") or {}
    return cls(
        {c: float(d["flops"].get(c, 0.0)) for c in CATEGORIES}, int(d["calls"]), float(d.get("eager_flops", 0.0)),
        helper, {c: int(refused.get(c, 0)) for c in CATEGORIES},
    )


class ComputeMeter:
  def __init__(self):
    self.key = next(_keys)
    _METERS[self.key] = self
    self.totals = MeterTotals()
    self.category = "train"
    self.signatures = 0  # distinct (function, signature) pairs: the compilations a run asked for
    self.count_seconds = 0.0  # time counting adds to the calls' own tracing and lowering (harness overhead)
    self.lookup_seconds = 0.0  # time finding each call's signature and its count (harness overhead)
    self._functions: dict = {}
    self.learner_jit = MeteredJit(self.key)  # what learners are handed as `task.jit`
    self.budget: ComputeBudget | None = None  # the run's compute_budget
    self.task_start_train = 0.0  # training FLOPs charged when the current task began
    # (category, its charged total that no call may pass, the allowance it came from) inside `budgeted()`
    self.ceiling: tuple[str, float, float] | None = None

  @contextlib.contextmanager
  def charging(self, category: str):
    if category not in CATEGORIES:
      raise ValueError(f"unknown compute category {category!r}")
    previous, self.category = self.category, category
    try:
      yield
    finally:
      self.category = previous

  # -- the compute budget ------------------------------------------------------------------------------
  def start_task(self) -> None:
    """A task begins: a per-task budget counts from here."""
    self.task_start_train = self.totals.flops["train"]

  def allowance(self) -> float | None:
    """Training FLOPs the learner may still charge in this task (None: no budget)."""
    if self.budget is None:
      return None
    train = self.totals.flops["train"]
    return self.budget.allowance(train - self.task_start_train, train)

  @contextlib.contextmanager
  def budgeted(self):
    """Around a `learner.train` call: charges in the current category may not pass the allowance it
    starts with. Enter it inside `charging(...)`."""
    allowance = self.allowance()
    if allowance is None or self.category == "eval":  # evaluation is the harness's, never bounded
      yield
      return
    previous = self.ceiling
    self.ceiling = (self.category, self.totals.flops[self.category] + allowance, allowance)
    try:
      yield
    finally:
      self.ceiling = previous

  def admit(self, flops: float) -> None:
    """Raises BudgetExhausted, before anything runs, if charging `flops` would pass the ceiling."""
    ceiling = self.ceiling
    if ceiling is None or ceiling[0] != self.category:
      return
    category, limit, allowance = ceiling
    with _TOTALS_LOCK:  # concurrent trials (parallel_trials) are each admitted against what is charged so far
      charged = self.totals.flops[category]
      refused = charged + flops > limit
      if refused:
        self.totals.refused[category] += 1
    if refused:
      spent = allowance - (limit - charged)
      raise BudgetExhausted(exhausted_message(self.budget, category, flops, spent, allowance),
                            needed=flops, spent=spent, allowance=allowance)

  def jit(self, fn: Callable, **jit_kwargs) -> "MeteredFunction":
    """Like `jax.jit(fn, **jit_kwargs)`, metered. The same (fn, kwargs) gives the same function back,
    so its compilations are reused across tasks."""
    key = (fn, tuple(sorted((k, _hashable(v)) for k, v in jit_kwargs.items())))
    metered = self._functions.get(key)
    if metered is None:
      metered = self._functions[key] = MeteredFunction(self.key, fn, jit_kwargs)
    return metered

  def charge_guarded(self, kind: str, flops: float | None, reason: str | None) -> None:
    """What the guard saw outside task.jit: an eager JAX operation about to run ("admit": the budget may
    refuse it) or run ("eager"), a computation inside declared helper work ("helper"), or the declaration
    itself ("declare")."""
    if kind == "admit":  # before an eager operation runs: the budget may refuse it
      if self.ceiling is not None:
        self.admit(flops)
      return
    with _TOTALS_LOCK:
      self._charge_guarded(kind, flops, reason)

  def _charge_guarded(self, kind: str, flops: float | None, reason: str | None) -> None:
    if kind == "eager":
      self.totals.flops[self.category] += flops
      self.totals.eager_flops += flops
      return
    helper = self.totals.helper
    reasons = helper.setdefault("reasons", [])
    if reason not in reasons:
      reasons.append(reason)
    helper.setdefault("calls", 0)
    helper.setdefault("flops", 0.0)
    if kind == "declare":  # `with task.unmetered(reason):` entered
      return
    helper["calls"] += 1
    if flops is None:
      helper["uncounted_calls"] = helper.get("uncounted_calls", 0) + 1
    else:
      helper["flops"] += flops


def meter_of(key: int) -> ComputeMeter:
  meter = _METERS.get(key)
  if meter is None:
    raise RuntimeError("this task.jit belongs to a run that has ended; use the jit of the task at hand")
  return meter


class MeteredJit:
  """`task.jit`: compiles through the run's meter, which it knows only by number."""

  __slots__ = ("_key",)

  def __init__(self, key: int):
    self._key = key

  def __call__(self, fn: Callable, **jit_kwargs) -> "MeteredFunction":
    return meter_of(self._key).jit(fn, **jit_kwargs)

  def __repr__(self) -> str:
    return "<task.jit>"


class MeteredFunction:
  def __init__(self, meter_key: int, fn: Callable, jit_kwargs: dict):
    self._key = meter_key
    self._fn = fn
    self._name = getattr(fn, "__name__", type(fn).__name__)
    self._jitted = guard.private_jit(fn, **jit_kwargs)
    self._static_argnums = _as_tuple(jit_kwargs.get("static_argnums", ()))
    self._static_argnames = _as_tuple(jit_kwargs.get("static_argnames", ()))
    self._places_itself = any(jit_kwargs.get(k) is not None for k in _PLACEMENT_OPTIONS)
    self._flops_by_signature: dict = {}
    self._counting = threading.Lock()  # one count per signature, when threads call a new one together
    self.__wrapped__ = fn

  def __call__(self, *args, **kwargs):
    meter = meter_of(self._key)
    guard.check_call_context(self._name)
    started = time.perf_counter()
    key = flops_lib.signature_key(args, kwargs, self._static_argnums, self._static_argnames)
    flops = self._flops_by_signature.get(key)
    looked_up = time.perf_counter() - started
    with guard.METERED:
      if flops is None:
        with self._counting:
          flops = self._flops_by_signature.get(key)
          if flops is None:
            flops = self._count(meter, args, kwargs)
            self._flops_by_signature[key] = flops
            with _TOTALS_LOCK:
              meter.signatures += 1
      if meter.ceiling is not None:
        meter.admit(flops)
      out = self._jitted(*args, **kwargs)
    with _TOTALS_LOCK:
      meter.lookup_seconds += looked_up
      meter.totals.flops[meter.category] += flops
      meter.totals.calls += 1
    return out

  def _count(self, meter: ComputeMeter, args: tuple, kwargs: dict) -> float:
    """FLOPs of a new signature, counted from the trace that the call after it takes from JAX's cache.

    Counting time charges only what the call would not do itself: the trace is the call's own, and so
    is the CPU lowering when the call runs on CPU uncommitted (JAX caches it for the call).
    """
    if self._places_itself:
      # Placement options annotate the executing jit's lowering with shardings, which changes XLA's
      # count, so it counts as a plain jit of `fn` (its own trace, all charged).
      started = time.perf_counter()
      flops = flops_lib.count_flops(
        self._fn, args, kwargs, static_argnums=self._static_argnums, static_argnames=self._static_argnames
      )
      meter.count_seconds += time.perf_counter() - started
      return flops
    if _lowers_for_cpu_unannotated(args, kwargs):
      traced = self._jitted.trace(*args, **kwargs)
      lowered = traced.lower()
    else:
      # Abstract arguments give the trace the call gets (JAX's cache is keyed by shapes and dtypes),
      # and one that lowers for CPU without sharding annotations wherever the call runs.
      abstract_args, abstract_kwargs = flops_lib.abstract_arguments(
        self._fn, args, kwargs, self._static_argnums, self._static_argnames
      )
      traced = self._jitted.trace(*abstract_args, **abstract_kwargs)
      lowered = None
    started = time.perf_counter()
    flops = flops_lib.count_traced_flops(traced, lowered)
    meter.count_seconds += time.perf_counter() - started
    return flops


# jit options that place the call themselves (and annotate its lowering with shardings).
_PLACEMENT_OPTIONS = ("device", "backend", "in_shardings", "out_shardings")


def _lowers_for_cpu_unannotated(args: tuple, kwargs: dict) -> bool:
  """Whether a call with these arguments lowers for CPU without shardings (so its lowering is the one
  `count_flops` reads) and JAX caches that lowering for it."""
  if jax.config.jax_enable_pgle:  # PGLE lowers each call afresh
    return False
  default_device = jax.config.jax_default_device
  if default_device is None:
    default_platform = jax.default_backend()
  else:
    default_platform = default_device if isinstance(default_device, str) else default_device.platform
  if default_platform != "cpu":
    return False
  for leaf in jax.tree_util.tree_leaves((args, kwargs)):
    if isinstance(leaf, jax.core.Tracer):
      return False
    # A committed array annotates the lowering with its sharding; an uncommitted one is on the default device.
    if isinstance(leaf, jax.Array) and getattr(leaf, "committed", True):
      return False
  return True


def _as_tuple(x):
  if x is None:
    return ()
  return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _hashable(v):
  if isinstance(v, dict):  # e.g. compiler_options
    return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
  return tuple(v) if isinstance(v, list) else v
