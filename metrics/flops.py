"""FLOPs of one call of a JAX function: XLA's cost analysis of a CPU lowering, with loops multiplied out.

Why a CPU lowering: on a GPU backend convolutions become cuDNN custom calls that XLA's cost analysis
does not count (a ResNet step reads ~150x too low), so the harness always counts from a lowering for
the CPU backend, whatever device the step runs on.

Why a jaxpr walk: XLA's cost analysis counts the body of a `while` (which `lax.scan` and `fori_loop`
lower to) once, whatever the trip count. For every loop we therefore add
`n * (cost(body) + correction(body)) - cost(loop as XLA sees it)`, recursively, where `cost` is XLA's
count of a separate CPU lowering. Measuring the loop as XLA sees it (instead of assuming "once")
keeps the count right for `unroll=k` scans (XLA then sees k copies plus a remainder) and for a
future XLA that multiplies trip counts itself.

Conventions (those of XLA's `HloCostAnalysis`, which the tests pin down):
- a multiply-add is 2 FLOPs; elementwise arithmetic is 1 FLOP per element; transcendental
  functions (exp, log, ...) are not FLOPs (XLA reports them separately) and are not included;
- a convolution counts only kernel taps that land on real input, not on zero padding (a 3x3 'SAME'
  convolution on an HxW map does 2*(3H-2)*(3W-2)*C_in*C_out multiply-adds per image, about 3%
  fewer than the naive 2*9*H*W*C_in*C_out at 64x64);
- a `cond`/`switch` costs its most expensive branch (XLA's choice; an upper bound for the branch
  actually taken). Inside a scan that means every step is charged the expensive branch.
- a `lax.platform_dependent` choice costs its CPU branch (or its default): the code is counted as it
  runs on CPU, so a GPU kernel with a portable twin (FoX's Pallas kernels) is charged the twin's FLOPs.
- a custom call (`jax.ffi.ffi_call`: a compiled kernel XLA cannot see into) is charged its registered twin,
  the same computation in XLA operations (`nevis.metrics.custom_calls`); one without a twin raises
  `UncountedCustomCallError` rather than counting as free.
- a `while_loop` is counted only when its trip count is a compile-time constant in the pattern
  `fori_loop` produces (counter from a literal, +1 per step, `<` a literal bound); any other
  `while_loop` raises `UncountedLoopError`.

Known blind spot: a loop inside one primitive's own lowering is invisible in the jaxpr, so XLA's
"once" stands. The CPU lowering of the threefry PRNG rolls its round groups into a loop (random bits
count ~29 integer ops per 32-bit word instead of ~59), and `random_gamma` (jax.random.gamma/beta),
`igamma`/`igammac` and `regularized_incomplete_beta` hide data-dependent loops. All are small next
to a network's matmuls and convolutions.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Iterator, Sequence

import jax
import jax.extend.core as jex

from nevis.metrics import custom_calls
from nevis.metrics.call_signatures import abstract_arguments, signature_key, spec_of_aval  # noqa: F401 (re-exported)
from nevis.metrics.loop_counts import while_trip_count

# Primitives whose sub-jaxprs are not lowered to XLA ops (a Pallas kernel is one custom call that
# XLA cannot see into), so there is nothing of theirs in XLA's count to correct.
_OPAQUE_PRIMITIVES = frozenset({"pallas_call"})


def count_flops(
  fn: Callable[..., Any],
  args: tuple,
  kwargs: dict | None = None,
  *,
  static_argnums: int | Sequence[int] = (),
  static_argnames: str | Sequence[str] = (),
) -> float:
  """FLOPs of one call `fn(*args, **kwargs)`; arguments may be arrays or `jax.ShapeDtypeStruct`s.

  Raises `UncountedLoopError` when `fn` contains a `while_loop` whose trip count is not static.
  """
  abstract_args, abstract_kwargs = abstract_arguments(fn, args, kwargs, static_argnums, static_argnames)
  with jax.default_device(_cpu_device()):
    jitted = jax.jit(fn, static_argnums=static_argnums, static_argnames=static_argnames)
    return count_traced_flops(jitted.trace(*abstract_args, **abstract_kwargs))


def count_traced_flops(traced: jax.stages.Traced, lowered: jax.stages.Lowered | None = None) -> float:
  """FLOPs of one call of an already traced jit function, `jax.jit(fn, ...).trace(*args)`.

  Tracing through the jit that then executes the call lets that call reuse the trace from JAX's
  cache. `lowered`, when given, must be `traced`'s lowering for the CPU backend without sharding
  annotations (which change XLA's count): its default lowering when its arrays are uncommitted on a
  CPU machine, which the executing call then reuses too. Otherwise `traced` is lowered here for CPU;
  traced with `abstract_arguments`, it counts as `count_flops` does. Raises `UncountedLoopError` likewise.
  """
  counter = _Counter(_cpu_device())
  if lowered is None:
    with jax.default_device(counter.cpu):
      lowered = _lower_for_cpu(traced)
  whole = counter.xla_flops(lowered)
  return float(whole + counter.correction(traced.jaxpr.jaxpr))


def count_jaxpr_flops(closed_jaxpr: Any) -> float:
  """FLOPs of one execution of a closed jaxpr (e.g. an eagerly run JAX operation), counted as `count_flops`."""
  counter = _Counter(_cpu_device())
  return float(counter._closed_jaxpr_flops(closed_jaxpr) + counter.correction(closed_jaxpr.jaxpr))


class _Terms:
  """A correction as constant FLOPs plus custom calls' twins, each key with its multiplicity: the twins are
  counted at the end, those of one multiplicity in one lowering (`custom_calls.twin_function`)."""

  __slots__ = ("constant", "calls")

  def __init__(self, constant: float = 0.0, calls: dict | None = None):
    self.constant = constant
    self.calls: dict[Hashable, list] = calls or {}  # key -> [an equation, multiplicity]

  def add(self, other: "_Terms", times: float = 1.0) -> None:
    self.constant += times * other.constant
    for key, (eqn, multiplicity) in other.calls.items():
      entry = self.calls.setdefault(key, [eqn, 0.0])
      entry[1] += times * multiplicity

  def is_zero(self) -> bool:
    return self.constant == 0.0 and not self.calls


class _Counter:
  """One count: XLA costs of sub-computations, cached by jaxpr/equation identity for this count only."""

  def __init__(self, cpu: Any):
    self.cpu = cpu
    # Values keep the keyed object alive so that its id() cannot be reused during the count.
    self._jaxpr_flops: dict[int, tuple[Any, float]] = {}
    self._eqn_flops: dict[int, tuple[Any, float]] = {}
    self._terms: dict[int, tuple[Any, _Terms]] = {}

  def xla_flops(self, lowered: Any) -> float:
    flops = _flops_in(_call_or_none(lowered.cost_analysis))
    if flops is None:
      # Pre-optimisation analysis unavailable (e.g. a PJRT plugin backend): fall back to compiling.
      flops = _flops_in(_call_or_none(lambda: lowered.compile().cost_analysis()))
    if flops is None:
      raise RuntimeError("XLA's cost analysis returned nothing for the CPU lowering; cannot count FLOPs")
    return flops

  def correction(self, jaxpr: Any) -> float:
    """FLOPs missing from XLA's count of `jaxpr`: loops (negative for zero-trip loops) and custom calls."""
    return self._value(self._correction_terms(jaxpr))

  def _correction_terms(self, jaxpr: Any) -> _Terms:
    cached = self._terms.get(id(jaxpr))
    if cached is not None:
      return cached[1]
    total = _Terms()
    for eqn in jaxpr.eqns:
      name = eqn.primitive.name
      if name == "scan":
        total.add(self._loop_terms(eqn, eqn.params["jaxpr"], int(eqn.params["length"])))
      elif name == "while":
        total.add(self._loop_terms(eqn, eqn.params["body_jaxpr"], while_trip_count(eqn)))
      elif name == "cond":
        total.add(self._cond_terms(eqn))
      elif name == "ffi_call":
        total.add(_Terms(0.0, {custom_calls.call_key(eqn): [eqn, 1.0]}))
      elif name not in _OPAQUE_PRIMITIVES:
        for sub in _sub_jaxprs(eqn.params):
          total.add(self._correction_terms(sub))
    self._terms[id(jaxpr)] = (jaxpr, total)
    return total

  def _loop_terms(self, eqn: Any, body: Any, trip_count: int) -> _Terms:
    inner = self._correction_terms(body.jaxpr)
    if trip_count == 1 and inner.is_zero():
      return _Terms()
    executed = _Terms(trip_count * self._closed_jaxpr_flops(body) - self._equation_flops(eqn))
    executed.add(inner, times=trip_count)
    return executed

  def _cond_terms(self, eqn: Any) -> _Terms:
    branches = eqn.params["branches"]
    cpu_branch = _cpu_branch(eqn)
    if cpu_branch is not None:
      # A `lax.platform_dependent` choice: the CPU lowering keeps only this branch, so XLA's count holds
      # it alone (no cond). The other branches (e.g. GPU kernels) may not even lower for CPU.
      return self._correction_terms(branches[cpu_branch].jaxpr)
    inner = [self._correction_terms(branch.jaxpr) for branch in branches]
    if all(terms.is_zero() for terms in inner):
      return _Terms()
    most_expensive = max(self._closed_jaxpr_flops(b) + self._value(c) for b, c in zip(branches, inner))
    return _Terms(most_expensive - self._equation_flops(eqn))

  def _value(self, terms: _Terms) -> float:
    """The terms in FLOPs: each call charged its twin's count less XLA's count of the call itself."""
    by_multiplicity: dict[float, list] = {}
    for key, (eqn, multiplicity) in terms.calls.items():
      by_multiplicity.setdefault(multiplicity, []).append((key, eqn))
    total = terms.constant
    for multiplicity, calls in by_multiplicity.items():
      own = sum(self._own_count(eqn) for _, eqn in calls)
      total += multiplicity * (self._twins_flops(calls) - own)
    return total

  def _twins_flops(self, calls: list) -> float:
    group = frozenset(key for key, _ in calls)
    kept = all(custom_calls.is_kept(key) for key in group)
    if kept and group in custom_calls.GROUP_COUNTS:
      return custom_calls.GROUP_COUNTS[group]
    flops = self._lowered_flops(*custom_calls.twin_function(eqn for _, eqn in calls))
    if kept:
      custom_calls.GROUP_COUNTS[group] = flops
    return flops

  def _own_count(self, eqn: Any) -> float:
    target = eqn.params["target_name"]
    if target not in custom_calls.OWN_COUNTS:
      specs = [spec_of_aval(v.aval) for v in eqn.invars if not isinstance(v, jex.Literal)]
      with jax.default_device(self.cpu):
        alone = _lower_for_cpu(jax.jit(_equation_function(eqn)).trace(*specs))
      custom_calls.OWN_COUNTS[target] = float((_call_or_none(alone.cost_analysis) or {}).get("flops", 0.0))
    return custom_calls.OWN_COUNTS[target]

  def _closed_jaxpr_flops(self, closed: Any) -> float:
    cached = self._jaxpr_flops.get(id(closed))
    if cached is not None:
      return cached[1]
    specs = [spec_of_aval(var.aval) for var in closed.jaxpr.invars]
    flops = self._lowered_flops(jex.jaxpr_as_fun(closed), specs)
    self._jaxpr_flops[id(closed)] = (closed, flops)
    return flops

  def _equation_flops(self, eqn: Any) -> float:
    """XLA's count of one equation alone: what the whole-function count holds for it."""
    cached = self._eqn_flops.get(id(eqn))
    if cached is not None:
      return cached[1]
    variables = [v for v in eqn.invars if not isinstance(v, jex.Literal)]
    flops = self._lowered_flops(_equation_function(eqn), [spec_of_aval(v.aval) for v in variables])
    self._eqn_flops[id(eqn)] = (eqn, flops)
    return flops

  def _lowered_flops(self, fn: Callable[..., Any], specs: list[Any]) -> float:
    with jax.default_device(self.cpu):
      return self.xla_flops(_lower_for_cpu(jax.jit(fn).trace(*specs)))



def _equation_function(eqn: Any) -> Callable[..., Any]:
  """One equation as a function of its non-literal inputs."""

  def run_equation(*values):
    supplied = iter(values)
    operands = [v.val if isinstance(v, jex.Literal) else next(supplied) for v in eqn.invars]
    bind_params = eqn.primitive.get_bind_params(eqn.params)
    # Older jax returns (subfuns, params); newer returns params.
    subfuns, bind_params = bind_params if isinstance(bind_params, tuple) else ((), bind_params)
    return eqn.primitive.bind(*subfuns, *operands, **bind_params)

  return run_equation


def _cpu_branch(eqn: Any) -> int | None:
  """Index of the branch a CPU lowering keeps when `eqn` is a `lax.platform_dependent` cond, else None."""
  platforms = eqn.params.get("branches_platforms")
  if not platforms:
    return None
  for index, names in enumerate(platforms):
    if names is not None and "cpu" in names:
      return index
  return next((index for index, names in enumerate(platforms) if names is None), None)


def _sub_jaxprs(params: dict) -> Iterator[Any]:
  """Open jaxprs in an equation's params (pjit, remat, custom_jvp/vjp, shard_map, ...), generically."""
  stack = list(params.values())
  while stack:
    value = stack.pop()
    if isinstance(value, jex.ClosedJaxpr):
      yield value.jaxpr
    elif isinstance(value, jex.Jaxpr):
      yield value
    elif isinstance(value, (tuple, list)):
      stack.extend(value)


def _lower_for_cpu(traced: Any) -> Any:
  try:
    return traced.lower(lowering_platforms=("cpu",))
  except TypeError:  # a jax without lowering_platforms; the CPU default device already selects CPU
    return traced.lower()


def _flops_in(cost: Any) -> float | None:
  """'flops' of a cost analysis: a dict, or (older jax) a list with one dict per program."""
  if cost is None:
    return None
  entries = list(cost) if isinstance(cost, (list, tuple)) else [cost]
  if not entries or any(entry is None for entry in entries):
    return None
  flops = sum(float(entry.get("flops", 0.0)) for entry in entries)  # no 'flops' key: nothing counted
  return flops if flops >= 0 else None  # some backends report -1 for "unknown"


def _call_or_none(thunk: Callable[[], Any]) -> Any:
  try:
    return thunk()
  except NotImplementedError:
    return None


def _cpu_device() -> Any:
  try:
    return jax.devices("cpu")[0]
  except RuntimeError as error:
    raise RuntimeError(
      "FLOP counting lowers for the CPU backend, which is not initialised: "
      "include 'cpu' in JAX_PLATFORMS (e.g. JAX_PLATFORMS=cuda,cpu)"
    ) from error
