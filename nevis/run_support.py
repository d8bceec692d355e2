"""Small pieces of a run that the runner uses: building the stream and the learner (once, before the workdir
is touched), fault injection for the resume tests, and formatting helpers."""
from __future__ import annotations

import io
import os
import platform
import signal

import jax
import numpy as np

from nevis import registry
from nevis.config import RunConfig
from nevis.errors import ConfigError, UserError
from nevis.protocol import Learner
from nevis.stream import Stream


def build_stream(config: RunConfig) -> Stream:
  """The run's stream. A stream registered with typed options checks its `stream_options` itself (one-line
  ConfigErrors); a plug-in's stream without them gets them as keyword arguments, and what it raises about
  them is turned into one line here."""
  registry.import_modules(config.imports)
  factory = registry.STREAMS.get(config.stream)
  try:
    return factory(**config.stream_options)
  except UserError:
    raise
  except Exception as e:  # the stream's own code rejected its options (a plug-in without typed options)
    raise ConfigError(
        f"stream {config.stream!r} could not be built with stream_options {config.stream_options} "
        f"({type(e).__name__}: {' '.join(str(e).split())}); check stream_options"
    ) from e


def build_learner(config: RunConfig) -> Learner:
  registry.import_modules(config.imports)
  learner_cls = registry.LEARNERS.get(config.learner)
  return learner_cls(**config.learner_options)


def crash_point(name: str) -> None:
  """Fault injection for the resume tests: NEVIS_TEST_CRASH_AT=<name> kills the process here (with
  NEVIS_TEST_CRASH_SIGNAL, default SIGKILL)."""
  if os.environ.get("NEVIS_TEST_CRASH_AT") == name:
    os.kill(os.getpid(), getattr(signal, os.environ.get("NEVIS_TEST_CRASH_SIGNAL") or "SIGKILL"))


def parameter_count(state) -> int:
  leaves = jax.tree_util.tree_leaves(state)
  return int(sum(np.size(x) for x in leaves if hasattr(x, "dtype") and np.issubdtype(x.dtype, np.floating)))


def npz_bytes(**arrays) -> bytes:
  buf = io.BytesIO()
  np.savez_compressed(buf, **arrays)
  return buf.getvalue()


def versions() -> dict:
  import importlib.metadata as md

  out = {"python": platform.python_version()}
  for name in ("nevis", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy"):
    try:
      out[name] = md.version(name)
    except md.PackageNotFoundError:
      out[name] = None
  return out

