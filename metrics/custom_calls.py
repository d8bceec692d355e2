"""Custom calls (`jax.ffi.ffi_call`: compiled kernels XLA cannot see into) as the meter charges them.

XLA's cost analysis counts a custom call as -1 FLOP ("unknown"). A kernel that runs under the meter
therefore registers a twin: the same computation in XLA operations, whose count stands for the call's
(`register_twins`). A call without a twin is refused (`UncountedCustomCallError`), never free.

Counting twins is what makes a network of custom calls slow to count (a lowering and an HLO conversion
each, ~20 ms), so twins are counted together: one lowering for all the calls of a count that share a
multiplicity (`twin_function`), and each such group's sum is kept for the process, since later
signatures of a learner (another task's head) repeat the same convolutions.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable

import jax
import jax.extend.core as jex
import numpy as np

from nevis.metrics.call_signatures import spec_of_aval
from nevis.metrics.errors import UncountedCustomCallError

# Custom call target -> twin(result shapes, *operands, **attributes): the call's result computed by XLA operations.
_TWINS: dict[str, Callable[..., Any]] = {}
# Frozen set of call keys -> XLA's count of their twins together (see the module's docstring).
GROUP_COUNTS: dict[frozenset, float] = {}
# Custom call target -> XLA's count of one such call lowered alone: -1 for any operands (jaxlib 0.10's cost
# analysis marks every custom call so), read once per target rather than assumed.
OWN_COUNTS: dict[str, float] = {}


def register_twins(twins: dict[str, Callable[..., Any]]) -> None:
  """Declares, for custom calls by target name, the XLA computation that each is charged as."""
  _TWINS.update(twins)


def twin_of(eqn: Any) -> Callable[..., Any]:
  target = eqn.params["target_name"]
  twin = _TWINS.get(target)
  if twin is None:
    raise UncountedCustomCallError(
        f"a metered function calls the custom call {target!r}, whose FLOPs XLA cannot count; register the same "
        "computation in XLA operations for it (nevis.metrics.custom_calls.register_twins), or compute it with JAX operations")
  return twin


def call_key(eqn: Any) -> Hashable:
  """Equal for calls whose twins count alike: the twin, the parameters, operand types and literal values.
  A call with an unhashable part is keyed by its equation's identity (counted, but not kept for the process)."""
  operands = tuple(("literal", _value_key(v.val)) if isinstance(v, jex.Literal) else spec_of_aval(v.aval)
                   for v in eqn.invars)
  params = tuple(sorted((name, _value_key(value)) for name, value in eqn.params.items() if name != "attributes"))
  attributes = tuple(sorted((name, _value_key(value)) for name, value in dict(eqn.params["attributes"]).items()))
  key = (twin_of(eqn), operands, params, attributes)
  try:
    hash(key)
  except TypeError:
    return ("equation", id(eqn))
  return key


def is_kept(key: Hashable) -> bool:
  return key[0] != "equation"


def twin_function(eqns: Iterable[Any]) -> tuple[Callable[..., Any], list[jax.ShapeDtypeStruct]]:
  """One function computing the twins of `eqns` side by side, and the specs of its (concatenated) inputs."""
  eqns = list(eqns)
  arities = [sum(not isinstance(v, jex.Literal) for v in eqn.invars) for eqn in eqns]
  specs = [spec_of_aval(v.aval) for eqn in eqns for v in eqn.invars if not isinstance(v, jex.Literal)]

  def twins(*values):
    supplied, results = iter(values), []
    for eqn, arity in zip(eqns, arities):
      inputs = iter([next(supplied) for _ in range(arity)])
      operands = [v.val if isinstance(v, jex.Literal) else next(inputs) for v in eqn.invars]
      results.append(twin_of(eqn)(eqn.params["result_avals"], *operands, **dict(eqn.params["attributes"])))
    return results

  return twins, specs


def _value_key(value: Any) -> Any:
  """Numpy values with their dtype (np.int64(1) and np.float32(1) hash alike); arrays by content."""
  if isinstance(value, np.ndarray):
    return ("ndarray", value.dtype.str, value.shape, value.tobytes())
  if isinstance(value, np.generic):
    return ("scalar", value.dtype.str, value.item())
  return value
