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
  the same computation in XLA operations (`register_twins`); one without a twin raises
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

import inspect
from typing import Any, Callable, Hashable, Iterator, Sequence

import jax
import jax.extend.core as jex
import numpy as np
from jax.core import ShapedArray

from nevis.metrics.errors import UncountedCustomCallError
from nevis.metrics.loop_counts import while_trip_count

# Primitives whose sub-jaxprs are not lowered to XLA ops (a Pallas kernel is one custom call that
# XLA cannot see into), so there is nothing of theirs in XLA's count to correct.
_OPAQUE_PRIMITIVES = frozenset({"pallas_call"})
# Custom call target -> twin(result shapes, *operands, **attributes): the call's result computed by XLA
# operations, whose count stands for the call's (XLA counts a custom call as -1 FLOP, "unknown").
_CUSTOM_CALL_TWINS: dict[str, Callable[..., Any]] = {}


def register_twins(twins: dict[str, Callable[..., Any]]) -> None:
  """Declares, for custom calls by target name, the XLA computation that each is charged as."""
  _CUSTOM_CALL_TWINS.update(twins)


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
  static_argnums = _as_tuple(static_argnums)
  static_argnames = _as_tuple(static_argnames)
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


def abstract_arguments(
  fn: Callable[..., Any],
  args: tuple,
  kwargs: dict | None = None,
  static_argnums: int | Sequence[int] = (),
  static_argnames: str | Sequence[str] = (),
) -> tuple[tuple, dict]:
  """`args` and `kwargs` with the arrays of non-static arguments as unsharded `jax.ShapeDtypeStruct`s.

  A trace with these is the one a call with the arrays gets, but lowers for CPU wherever the arrays live.
  """
  kwargs = dict(kwargs or {})
  static_positions, static_names = _static_arguments(
    fn, len(args), _as_tuple(static_argnums), _as_tuple(static_argnames)
  )
  abstract_args = tuple(
    arg if position in static_positions else jax.tree_util.tree_map(_abstract_leaf, arg)
    for position, arg in enumerate(args)
  )
  abstract_kwargs = {
    name: value if name in static_names else jax.tree_util.tree_map(_abstract_leaf, value)
    for name, value in kwargs.items()
  }
  return abstract_args, abstract_kwargs


def signature_key(
  args: tuple,
  kwargs: dict | None = None,
  static_argnums: int | Sequence[int] = (),
  static_argnames: str | Sequence[str] = (),
) -> Hashable:
  """A hashable key, equal for calls that share one jit compilation (and so one FLOP count).

  Arrays contribute shape, dtype and weak type; Python scalars their type (jit traces them);
  static arguments their value. Static arguments must be passed where they are declared
  (positions in `static_argnums`, keywords in `static_argnames`).
  """
  if not (kwargs or static_argnums or static_argnames):  # the common call, on every step: keep it short
    leaves, treedef = jax.tree_util.tree_flatten(args)
    return (treedef, tuple(map(_leaf_key, leaves)))
  kwargs = kwargs or {}
  static_positions = {_normalize_position(p, len(args)) for p in _as_tuple(static_argnums)}
  static_names = set(_as_tuple(static_argnames))
  dynamic_args = tuple(arg for position, arg in enumerate(args) if position not in static_positions)
  dynamic_kwargs = {name: value for name, value in kwargs.items() if name not in static_names}
  leaves, treedef = jax.tree_util.tree_flatten((dynamic_args, dynamic_kwargs))
  static_args = tuple(
    (position, args[position]) for position in sorted(static_positions) if position < len(args)
  )
  static_kwargs = tuple(
    sorted(((name, value) for name, value in kwargs.items() if name in static_names), key=lambda kv: kv[0])
  )
  return (treedef, tuple(map(_leaf_key, leaves)), static_args, static_kwargs)


class _Counter:
  """One count: XLA costs of sub-computations, cached by jaxpr/equation identity for this count only."""

  def __init__(self, cpu: Any):
    self.cpu = cpu
    # Values keep the keyed object alive so that its id() cannot be reused during the count.
    self._jaxpr_flops: dict[int, tuple[Any, float]] = {}
    self._eqn_flops: dict[int, tuple[Any, float]] = {}
    self._corrections: dict[int, tuple[Any, float]] = {}

  def xla_flops(self, lowered: Any) -> float:
    flops = _flops_in(_call_or_none(lowered.cost_analysis))
    if flops is None:
      # Pre-optimisation analysis unavailable (e.g. a PJRT plugin backend): fall back to compiling.
      flops = _flops_in(_call_or_none(lambda: lowered.compile().cost_analysis()))
    if flops is None:
      raise RuntimeError("XLA's cost analysis returned nothing for the CPU lowering; cannot count FLOPs")
    return flops

  def correction(self, jaxpr: Any) -> float:
    """FLOPs missing from XLA's count of `jaxpr` because of loops (negative for zero-trip loops)."""
    cached = self._corrections.get(id(jaxpr))
    if cached is not None:
      return cached[1]
    total = 0.0
    for eqn in jaxpr.eqns:
      name = eqn.primitive.name
      if name == "scan":
        total += self._loop_correction(eqn, eqn.params["jaxpr"], int(eqn.params["length"]))
      elif name == "while":
        total += self._loop_correction(eqn, eqn.params["body_jaxpr"], while_trip_count(eqn))
      elif name == "cond":
        total += self._cond_correction(eqn)
      elif name == "ffi_call":
        total += self._custom_call_correction(eqn)
      elif name not in _OPAQUE_PRIMITIVES:
        total += sum(self.correction(sub) for sub in _sub_jaxprs(eqn.params))
    self._corrections[id(jaxpr)] = (jaxpr, total)
    return total

  def _loop_correction(self, eqn: Any, body: Any, trip_count: int) -> float:
    inner = self.correction(body.jaxpr)
    if trip_count == 1 and inner == 0.0:
      return 0.0
    executed = trip_count * (self._closed_jaxpr_flops(body) + inner)
    return executed - self._equation_flops(eqn)

  def _cond_correction(self, eqn: Any) -> float:
    branches = eqn.params["branches"]
    cpu_branch = _cpu_branch(eqn)
    if cpu_branch is not None:
      # A `lax.platform_dependent` choice: the CPU lowering keeps only this branch, so XLA's count holds
      # it alone (no cond). The other branches (e.g. GPU kernels) may not even lower for CPU.
      return self.correction(branches[cpu_branch].jaxpr)
    inner = [self.correction(branch.jaxpr) for branch in branches]
    if not any(inner):
      return 0.0
    most_expensive = max(self._closed_jaxpr_flops(b) + c for b, c in zip(branches, inner))
    return most_expensive - self._equation_flops(eqn)

  def _custom_call_correction(self, eqn: Any) -> float:
    target = eqn.params["target_name"]
    twin = _CUSTOM_CALL_TWINS.get(target)
    if twin is None:
      raise UncountedCustomCallError(
          f"a metered function calls the custom call {target!r}, whose FLOPs XLA cannot count; register the same "
          "computation in XLA operations for it (nevis.metrics.flops.register_twins), or compute it with JAX operations")
    attributes, results = dict(eqn.params["attributes"]), eqn.params["result_avals"]
    specs = [_spec_of_aval(v.aval) for v in eqn.invars if not isinstance(v, jex.Literal)]

    def twin_of_inputs(*values):  # the equation's inputs, literals filled in as `_equation_function` does
      supplied = iter(values)
      return twin(results, *(v.val if isinstance(v, jex.Literal) else next(supplied) for v in eqn.invars),
                  **attributes)

    twin_flops = self._lowered_flops(twin_of_inputs, specs)
    # Minus what XLA's count of the whole function holds for the call: -1 ("unknown", jaxlib 0.10), read
    # from the call lowered alone rather than assumed.
    with jax.default_device(self.cpu):
      alone = _lower_for_cpu(jax.jit(_equation_function(eqn)).trace(*specs))
    cost = _call_or_none(alone.cost_analysis) or {}
    return twin_flops - float(cost.get("flops", 0.0))

  def _closed_jaxpr_flops(self, closed: Any) -> float:
    cached = self._jaxpr_flops.get(id(closed))
    if cached is not None:
      return cached[1]
    specs = [_spec_of_aval(var.aval) for var in closed.jaxpr.invars]
    flops = self._lowered_flops(jex.jaxpr_as_fun(closed), specs)
    self._jaxpr_flops[id(closed)] = (closed, flops)
    return flops

  def _equation_flops(self, eqn: Any) -> float:
    """XLA's count of one equation alone: what the whole-function count holds for it."""
    cached = self._eqn_flops.get(id(eqn))
    if cached is not None:
      return cached[1]
    variables = [v for v in eqn.invars if not isinstance(v, jex.Literal)]
    flops = self._lowered_flops(_equation_function(eqn), [_spec_of_aval(v.aval) for v in variables])
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


def _abstract_leaf(leaf: Any) -> Any:
  """Arrays become unsharded ShapeDtypeStructs (no device placement, so the lowering is for CPU)."""
  if isinstance(leaf, (jax.Array, jax.ShapeDtypeStruct, np.ndarray, np.generic)):
    return jax.ShapeDtypeStruct(np.shape(leaf), leaf.dtype, weak_type=getattr(leaf, "weak_type", False))
  return leaf


def _spec_of_aval(aval: Any) -> jax.ShapeDtypeStruct:
  return jax.ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=getattr(aval, "weak_type", False))


def _leaf_key(leaf: Any) -> Hashable:
  """A jax.Array's abstract value (shape, dtype, weak type; read in C++, cheap on every call); the same
  for other arrays and ShapeDtypeStructs; the type of anything else (Python scalars)."""
  aval = getattr(leaf, "aval", None)
  if isinstance(aval, ShapedArray):
    return aval
  shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
  if shape is None or dtype is None:
    return type(leaf)
  return ShapedArray(tuple(shape), dtype, weak_type=bool(getattr(leaf, "weak_type", False)))


def _static_arguments(
  fn: Callable[..., Any], n_args: int, static_argnums: tuple, static_argnames: tuple
) -> tuple[set[int], set[str]]:
  """Static positions and keyword names, completed through fn's signature as jax.jit does."""
  positions = {_normalize_position(p, n_args) for p in static_argnums}
  names = set(static_argnames)
  try:
    parameters = list(inspect.signature(fn).parameters.values())
  except (TypeError, ValueError):
    return positions, names
  positional_kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
  positional = [p.name for p in parameters if p.kind in positional_kinds]
  names |= {positional[p] for p in positions if 0 <= p < len(positional)}
  positions |= {i for i, name in enumerate(positional) if name in names}
  return positions, names


def _normalize_position(position: int, n_args: int) -> int:
  return position + n_args if position < 0 else position


def _as_tuple(value: Any) -> tuple:
  if value is None:
    return ()
  if isinstance(value, (int, str)):
    return (value,)
  return tuple(value)
