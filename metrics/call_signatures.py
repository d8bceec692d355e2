"""What identifies one compilation of a jit function: a call's signature key, and its arguments made abstract.

The meter looks a call's FLOP count up by `signature_key` on every call (so it is kept cheap), and
counts a new signature from a trace with `abstract_arguments`, which lowers for CPU wherever the
call's arrays live.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Hashable, Sequence

import jax
import numpy as np
from jax.core import ShapedArray


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


def _abstract_leaf(leaf: Any) -> Any:
  """Arrays become unsharded ShapeDtypeStructs (no device placement, so the lowering is for CPU)."""
  if isinstance(leaf, (jax.Array, jax.ShapeDtypeStruct, np.ndarray, np.generic)):
    return jax.ShapeDtypeStruct(np.shape(leaf), leaf.dtype, weak_type=getattr(leaf, "weak_type", False))
  return leaf


def spec_of_aval(aval: Any) -> jax.ShapeDtypeStruct:
  """A jaxpr variable's abstract value as the argument spec of a trace."""
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
  parts = (tuple(shape), dtype, bool(getattr(leaf, "weak_type", False)))
  aval = _AVALS.get(parts)
  if aval is None:
    aval = _AVALS[parts] = ShapedArray(*parts)
  return aval


# (shape, dtype, weak type) -> its ShapedArray, for leaves without one of their own (numpy batches): building
# a ShapedArray takes ~8 us, a tenth of a step's lookup, and a learner passes the same few on every step.
_AVALS: dict[tuple, ShapedArray] = {}


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
