"""Trip counts of the `while` loops in a jaxpr, for the FLOP count (`nevis.metrics.flops`).

XLA counts a loop's body once. A `while` is counted only when its trip count is a compile-time constant in
the pattern `fori_loop` produces: a counter from a literal, +1 per step, `<` a literal bound (or a
constant, or a carried value the body passes through unchanged); any other `while` raises
`UncountedLoopError`, naming where it is and the fix.
"""
from __future__ import annotations

from typing import Any, Sequence

import jax.extend.core as jex

from nevis.metrics.errors import UncountedLoopError

_LOOP_FIX = (
  "use lax.scan or lax.fori_loop with static (Python int) bounds, or move the loop (e.g. a rejection "
  "sampler such as jax.random.gamma/beta) out of the metered function"
)


def while_trip_count(eqn: Any) -> int:
  """Trip count of a `while` in the shape fori_loop gives it with constant bounds, else raise."""
  trip_count = _fori_pattern_trip_count(eqn)
  if trip_count is None:
    raise UncountedLoopError(
      f"while_loop{_where(eqn)} has a trip count unknown at compile time, so its FLOPs cannot be "
      f"counted: {_LOOP_FIX}"
    )
  return trip_count


def _fori_pattern_trip_count(eqn: Any) -> int | None:
  params = eqn.params
  cond, body = params["cond_jaxpr"].jaxpr, params["body_jaxpr"].jaxpr
  cond_nconsts, body_nconsts = params["cond_nconsts"], params["body_nconsts"]
  cond_consts, init = eqn.invars[:cond_nconsts], eqn.invars[cond_nconsts + body_nconsts:]
  if len(cond.eqns) != 1 or cond.eqns[0].primitive.name != "lt":
    return None
  if cond.outvars[0] is not cond.eqns[0].outvars[0]:
    return None
  counter_var, bound_var = cond.eqns[0].invars
  counter = _index_of(counter_var, cond.invars[cond_nconsts:])
  if counter is None or not _increments_by_one(body, body_nconsts, counter):
    return None
  lower = _literal_value(init[counter])
  if isinstance(bound_var, jex.Literal):
    upper = bound_var.val
  elif (const := _index_of(bound_var, cond.invars[:cond_nconsts])) is not None:
    upper = _literal_value(cond_consts[const])
  elif (carried := _index_of(bound_var, cond.invars[cond_nconsts:])) is not None:
    passed_through = body.outvars[carried] is body.invars[body_nconsts + carried]
    upper = _literal_value(init[carried]) if passed_through else None
  else:
    upper = None
  if lower is None or upper is None:
    return None
  return max(0, int(upper) - int(lower))


def _increments_by_one(body: Any, body_nconsts: int, counter: int) -> bool:
  counter_in, counter_out = body.invars[body_nconsts + counter], body.outvars[counter]
  for eqn in body.eqns:
    if eqn.outvars[0] is counter_out:
      if eqn.primitive.name != "add":
        return False
      a, b = eqn.invars
      return (a is counter_in and _literal_value(b) == 1) or (b is counter_in and _literal_value(a) == 1)
  return False


def _index_of(var: Any, variables: Sequence[Any]) -> int | None:
  return next((i for i, v in enumerate(variables) if v is var), None)


def _literal_value(atom: Any) -> Any:
  return atom.val if isinstance(atom, jex.Literal) else None


def _where(eqn: Any) -> str:
  try:
    from jax._src import source_info_util  # private; only for a better message

    return f" at {source_info_util.summarize(eqn.source_info)}"
  except Exception:
    return ""
