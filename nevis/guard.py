"""The compute guard: while a learner's code runs, every XLA computation is metered, declared, or refused.

A run opens one `session`; the runner wraps each call into the learner (construction, init, train,
predict) in `learner_code`. Inside, an XLA computation is one of:

- a call of a `task.jit` function: metered by `nevis.meter` (its FLOPs, in the harness's category);
- an eager JAX operation (`x + 1`, `jnp.mean`, `jax.random.normal`, `jax.nn.relu` run outside any jit:
  functions defined in the jax package, and single primitives): metered too, each execution charged its
  FLOP count (XLA's cost analysis of its jaxpr, loops multiplied out), in the same category;
- helper work the learner declared with `with task.unmetered("why"):`: allowed, counted apart (calls,
  FLOPs where countable) and reported with the task, never in the compute columns;
- anything else — a function compiled with plain `jax.jit`, ahead-of-time compiled (`.lower().compile()`),
  or any other XLA compilation — is refused with one line naming the function.

How it is detected (JAX's own dispatch, which `tests/nevis/test_guard.py` pins for the installed jax):
- JAX runs a cached jit call in C++ without returning to Python. While a session is open, only metered
  calls may enter that fast path (`pjit._get_fastpath_data` answers None for the rest), and the session
  starts by emptying JAX's global C++ jit caches, so that functions compiled earlier in the process
  (at import, say) come back through Python too. Metered functions keep a private C++ cache.
- Every other jit execution then passes `pjit._pjit_call_impl_python`, where it is classified by the
  source file of its jaxpr, and `stages.Compiled.__call__` (ahead-of-time compiled functions).
- `jax.monitoring`'s backend-compile event catches any compilation that takes another road (pmap, say).

What it cannot see: computations JAX dispatches without jit (none in the installed version besides
transfers), a pmap or an ahead-of-time compiled function compiled *before* the run and called from its
own C++ cache, and anything done by walking the interpreter (module globals, gc) — see the README's
threat model.
"""
from __future__ import annotations

import contextlib
import os
import re
import threading
import weakref
from typing import Any, Callable, Iterator

import jax

from nevis.errors import LearnerError, UserError

try:  # JAX internals; when one is missing the guard falls back to the compile event alone
  from jax._src import config as _jax_config, core as _core, pjit as _pjit, stages as _stages
except ImportError:  # pragma: no cover - another jax layout
  _pjit = _stages = _jax_config = _core = None

_JAX_DIR = os.path.dirname(os.path.abspath(jax.__file__)) + os.sep
_BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_SOURCE = re.compile(r"^(?P<name>.*) at (?P<file>.*):(?P<line>\d+)$")

_FIX = ("the harness cannot meter that: compile it with task.jit, or declare helper work with "
        "`with task.unmetered(\"why\"):`")

_local = threading.local()  # per thread: metered (depth), harness (depth), helper (reason or None)
_session: "Session | None" = None
_install_lock = threading.Lock()
_installed = False
_private_cpp_cache = None


class MeteringError(LearnerError):
  """A learner ran compiled work that the harness cannot meter."""


class Session:
  """One run's guard: where charges go and which learner call (if any) is running."""

  def __init__(self, charge: Callable[[str, float | None, str | None], None]):
    self.charge = charge  # (kind: "admit" | "eager" | "helper" | "declare", flops, helper reason)
    self.call: tuple[str, str, str | None] | None = None  # (learner, what it does, task)
    self.violations: list[MeteringError] = []
    self._flops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # jaxpr -> FLOPs of one execution

  def refuse(self, what: str, fix: str = _FIX) -> MeteringError:
    learner, doing, task = self.call or ("?", "?", None)
    during = f"{doing} of task {task!r}" if task else doing
    error = MeteringError(f"learner {learner!r} {what} during {during}; {fix}")
    self.violations.append(error)
    return error

  def flops_of(self, jaxpr: Any, name: str, strict: bool) -> float | None:
    """FLOPs of one execution; when they cannot be counted, None for helper work, a refusal for the rest."""
    cached = self._flops.get(jaxpr)
    if cached is None:
      from nevis.metrics import flops as flops_lib

      try:
        with _depth("harness"):
          cached = flops_lib.count_jaxpr_flops(jaxpr)
      except Exception as e:
        if not strict:
          return None
        why = " ".join(str(e).split())
        fix = why if isinstance(e, UserError) else f"{type(e).__name__}: {why[:200]}; run it inside a task.jit function"
        raise self.refuse(f"ran the eager JAX operation {name}, whose FLOPs cannot be counted,", fix) from None
      self._flops[jaxpr] = cached
    return cached


# -- what the runner and the meter call ---------------------------------------------------------------


@contextlib.contextmanager
def session(charge: Callable[[str, float | None, str | None], None]) -> Iterator[Session]:
  """Opens the guard for one run. Not reentrant: one run at a time per process."""
  global _session
  install()
  if _session is not None:
    raise RuntimeError("a nevis run is already in progress in this process")
  _clear_global_jit_caches()
  _session = Session(charge)
  try:
    yield _session
  finally:
    _session = None


@contextlib.contextmanager
def learner_code(learner: str, doing: str, task: str | None = None) -> Iterator[None]:
  """Marks the learner's code: refuses unmetered XLA work inside, even if the learner swallowed the error."""
  s = _session
  if s is None:
    yield
    return
  previous, s.call = s.call, (learner, doing, task)
  seen = len(s.violations)
  try:
    yield
  finally:
    s.call = previous
  if len(s.violations) > seen:
    raise s.violations[seen]


class _Metered:
  """Around a task.jit call: its executions and compilations are the meter's (and may use the fast path).
  A class rather than a generator: it is entered on every metered call."""

  def __enter__(self):
    _local.metered = getattr(_local, "metered", 0) + 1

  def __exit__(self, *exc):
    _local.metered -= 1


METERED = _Metered()


def harness_work() -> contextlib.AbstractContextManager:
  """Around harness code run inside a learner call (checkpoint writes): passed through, not charged."""
  return _depth("harness")


@contextlib.contextmanager
def helper_work(reason: str) -> Iterator[None]:
  """`task.unmetered(reason)`: XLA work inside is allowed and reported apart, never as metered compute."""
  if not isinstance(reason, str) or not reason.strip():
    raise LearnerError("task.unmetered needs a reason: a non-empty string saying what the helper work is")
  previous = getattr(_local, "helper", None)
  _local.helper = reason.strip()
  s = _session
  if s is not None:
    s.charge("declare", None, _local.helper)  # the declaration is reported even if nothing runs inside
  try:
    yield
  finally:
    _local.helper = previous


def check_call_context(name: str) -> None:
  """A task.jit function called inside a transformation begun outside task.jit (eager jax.vmap or
  jax.grad, a plain jax.jit) would be counted at the wrong shapes, or not at all: refused."""
  s = _session
  if s is None or s.call is None or getattr(_local, "metered", 0) or _core is None:
    return
  if not _core.trace_state_clean():
    raise s.refuse(
        f"called task.jit function {name!r} inside a JAX transformation (jax.vmap, jax.grad, jax.jit, lax.scan) "
        "applied outside task.jit",
        "the meter would count it at the wrong shapes or not at all: apply the transformation inside the "
        "compiled function, e.g. task.jit(jax.vmap(f))",
    )


def private_jit(fn: Callable, **jit_kwargs) -> Callable:
  """`jax.jit(fn, ...)` with a C++ dispatch cache of its own, which emptying the global one leaves alone."""
  global _private_cpp_cache
  if _pjit is None or not hasattr(_jax_config, "jax_jit_cpp_cache_obj"):
    return jax.jit(fn, **jit_kwargs)
  if _private_cpp_cache is None:
    _private_cpp_cache = _pjit.make_jit_cpp_cache(8192)
  with _jax_config.jax_jit_cpp_cache_obj(_private_cpp_cache):
    return jax.jit(fn, **jit_kwargs)


# -- the hooks ------------------------------------------------------------------------------------------


def install() -> None:
  """Puts the hooks in place once per process; each passes straight through while no session is open."""
  global _installed
  with _install_lock:
    if _installed:
      return
    jax.monitoring.register_event_duration_secs_listener(_on_compile_event)
    if _pjit is not None and hasattr(_pjit, "_get_fastpath_data") and hasattr(_pjit, "_pjit_call_impl_python"):
      _pjit._get_fastpath_data = _fastpath_filter(_pjit._get_fastpath_data)
      _pjit._pjit_call_impl_python = _execution_hook(_pjit._pjit_call_impl_python)
    if _stages is not None and hasattr(_stages, "Compiled"):
      _stages.Compiled.__call__ = _compiled_call_hook(_stages.Compiled.__call__)
    _installed = True


def _guarded() -> Session | None:
  """The session when learner code runs on this thread outside metered and harness work."""
  s = _session
  if s is None or s.call is None or getattr(_local, "metered", 0) or getattr(_local, "harness", 0):
    return None
  return s


def _fastpath_filter(original):
  def get_fastpath_data(*args, **kwargs):
    if _session is not None and not getattr(_local, "metered", 0):
      return None  # keeps the call on the Python path, where the next call is seen again
    return original(*args, **kwargs)

  return get_fastpath_data


def _execution_hook(original):
  def pjit_call_impl_python(*args, jaxpr, **params):
    s = _guarded()
    if s is None:
      return original(*args, jaxpr=jaxpr, **params)
    name, source = describe(jaxpr, params.get("name", "?"))
    helper = getattr(_local, "helper", None)
    if helper is None and not is_jax_library(source):
      raise s.refuse(f"ran {name} ({source or 'source unknown'}) with plain jax.jit")
    flops = s.flops_of(jaxpr, name, strict=helper is None)
    if helper is None:
      s.charge("admit", flops, None)  # a compute budget refuses it before it runs (nevis.budget)
    with _depth("harness"):
      out = original(*args, jaxpr=jaxpr, **params)
    s.charge("helper" if helper is not None else "eager", flops, helper)
    return out

  return pjit_call_impl_python


def _compiled_call_hook(original):
  def __call__(self, *args, **kwargs):
    s = _guarded()
    if s is not None:
      helper = getattr(_local, "helper", None)
      if helper is None:
        raise s.refuse(f"ran an ahead-of-time compiled function ({_compiled_name(self)})")
      s.charge("helper", None, helper)
      with _depth("harness"):
        return original(self, *args, **kwargs)
    return original(self, *args, **kwargs)

  return __call__


def _on_compile_event(event: str, duration: float, **kwargs) -> None:
  if event != _BACKEND_COMPILE_EVENT:
    return
  s = _guarded()
  if s is not None and getattr(_local, "helper", None) is None:
    raise s.refuse(f"compiled {kwargs.get('fun_name', '?')} outside task.jit")


# -- helpers --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _depth(name: str) -> Iterator[None]:
  setattr(_local, name, getattr(_local, name, 0) + 1)
  try:
    yield
  finally:
    setattr(_local, name, getattr(_local, name) - 1)


def describe(jaxpr: Any, fallback: str) -> tuple[str, str]:
  """(function name, 'file:line') of a jit's jaxpr, from JAX's debug info."""
  info = getattr(getattr(jaxpr, "jaxpr", None), "debug_info", None)
  match = _SOURCE.match(getattr(info, "func_src_info", None) or "")
  if match is None:
    return fallback, ""
  return match["name"], f"{match['file']}:{match['line']}"


def is_jax_library(source: str) -> bool:
  """Whether a function is JAX's own (jax.numpy, lax, random, nn... or a single primitive run eagerly)."""
  return bool(source) and os.path.abspath(source.rsplit(":", 1)[0]).startswith(_JAX_DIR)


def _compiled_name(compiled: Any) -> str:
  try:
    return compiled.as_text().split("\n", 1)[0].split()[1].strip(",")
  except Exception:  # naming is best effort; the refusal is what matters
    return type(compiled).__name__


def _clear_global_jit_caches() -> None:
  """Empties JAX's global C++ jit dispatch caches, so that functions compiled before the run (not
  metered) are seen on their next call. Compiled executables stay cached in Python: nothing recompiles."""
  for name in ("_cpp_pjit_cache_fun_only", "_cpp_pjit_cache_explicit_attributes"):
    cache = getattr(_pjit, name, None)
    if cache is not None:
      cache.clear()
