"""Compute metering: the harness, not the learner, counts FLOPs.

`ComputeMeter.jit(fn, ...)` is the only way learners compile. Each distinct call signature is counted
once (XLA cost analysis of a CPU lowering, with loop bodies multiplied by their trip counts; see
`nevis.metrics.flops`) and every call adds its count to the category being charged: training (every
hyper-parameter trial included), prequential scoring, or evaluation.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Callable

import jax

from nevis.metrics import flops as flops_lib

CATEGORIES = ("train", "prequential", "eval")


@dataclasses.dataclass
class MeterTotals:
  flops: dict[str, float] = dataclasses.field(default_factory=lambda: {c: 0.0 for c in CATEGORIES})
  calls: int = 0

  def as_dict(self) -> dict:
    return {"flops": dict(self.flops), "calls": self.calls}

  @classmethod
  def from_dict(cls, d: dict) -> "MeterTotals":
    return cls({c: float(d["flops"].get(c, 0.0)) for c in CATEGORIES}, int(d["calls"]))


class ComputeMeter:
  def __init__(self):
    self.totals = MeterTotals()
    self.category = "train"
    self.signatures = 0  # distinct (function, signature) pairs: the compilations a run asked for
    self.count_seconds = 0.0  # time spent counting FLOPs (harness overhead)
    self._functions: dict = {}

  @contextlib.contextmanager
  def charging(self, category: str):
    if category not in CATEGORIES:
      raise ValueError(f"unknown compute category {category!r}")
    previous, self.category = self.category, category
    try:
      yield
    finally:
      self.category = previous

  def jit(self, fn: Callable, **jit_kwargs) -> "MeteredFunction":
    """Like `jax.jit(fn, **jit_kwargs)`, metered. The same (fn, kwargs) gives the same function back,
    so its compilations are reused across tasks."""
    key = (fn, tuple(sorted((k, _hashable(v)) for k, v in jit_kwargs.items())))
    metered = self._functions.get(key)
    if metered is None:
      metered = self._functions[key] = MeteredFunction(self, fn, jit_kwargs)
    return metered


class MeteredFunction:
  def __init__(self, meter: ComputeMeter, fn: Callable, jit_kwargs: dict):
    self._meter = meter
    self._fn = fn
    self._jitted = jax.jit(fn, **jit_kwargs)
    self._static_argnums = _as_tuple(jit_kwargs.get("static_argnums", ()))
    self._static_argnames = _as_tuple(jit_kwargs.get("static_argnames", ()))
    self._flops_by_signature: dict = {}
    self.__wrapped__ = fn

  def __call__(self, *args, **kwargs):
    meter = self._meter
    key = flops_lib.signature_key(args, kwargs, self._static_argnums, self._static_argnames)
    flops = self._flops_by_signature.get(key)
    if flops is None:
      started = time.perf_counter()
      flops = flops_lib.count_flops(
          self._fn, args, kwargs, static_argnums=self._static_argnums, static_argnames=self._static_argnames
      )
      meter.count_seconds += time.perf_counter() - started
      self._flops_by_signature[key] = flops
      meter.signatures += 1
    out = self._jitted(*args, **kwargs)
    meter.totals.flops[meter.category] += flops
    meter.totals.calls += 1
    return out


def _as_tuple(x):
  if x is None:
    return ()
  return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _hashable(v):
  return tuple(v) if isinstance(v, list) else v
