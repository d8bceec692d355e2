"""Learners that make the mistakes the harness must catch (imported with `--import tests.nevis.hostile_learners`)."""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

import nevis

from .linear_learner import HEAD, LinearLearner, _train_step

EAGER_SIDE = 32  # the eager learner's matmul: 2 * 32**3 FLOPs per task


def _with_head(state, task, params):
  heads = dict(state["heads"])
  heads[task.info.name] = {"w": np.asarray(params["w"]), "b": np.asarray(params["b"])}
  return {"w": np.asarray(params["w"]), "b": np.asarray(params["b"]), "heads": heads}


@nevis.register_learner("x_plain_jit")
class PlainJit(LinearLearner):
  """Routes one trivial call through task.jit and trains with plain jax.jit."""

  def train(self, task, state):
    task.jit(lambda x: x + 1)(1.0)
    step = jax.jit(_train_step)
    params = {"w": jnp.asarray(state["w"]), "b": jnp.asarray(state["b"])}
    mask = np.arange(HEAD) < task.info.num_classes
    for s in range(5):
      batch = task.train.batch_at(s, 16, seed=0)
      params, _ = step(params, batch["images"], batch["labels"], mask, np.float32(0.5))
    return _with_head(state, task, params)


_PREWARMED = jax.jit(lambda a: a * 3)
_PREWARMED(jnp.ones(3))  # compiled and cached at import, before any run


@nevis.register_learner("x_prewarmed_jit")
class PrewarmedJit(LinearLearner):
  def train(self, task, state):
    _PREWARMED(jnp.ones(3))
    return super().train(task, state)


@nevis.register_learner("x_ahead_of_time")
class AheadOfTime(LinearLearner):
  def train(self, task, state):
    jax.jit(lambda a: a * 3).lower(jnp.ones(3)).compile()(jnp.ones(3))
    return super().train(task, state)


@nevis.register_learner("x_vmap_of_task_jit")
class VmapOfTaskJit(LinearLearner):
  def train(self, task, state):
    jax.vmap(task.jit(lambda a: a * 2))(jnp.ones((4, 3)))
    return super().train(task, state)


@nevis.register_learner("x_swallowed")
class Swallowed(LinearLearner):
  """Catches the refusal and carries on: the runner still refuses after the call."""

  def train(self, task, state):
    try:
      jax.jit(lambda a: a + 1)(jnp.ones(3))
    except Exception:
      pass
    return super().train(task, state)


@nevis.register_learner("x_compiles_when_built")
class CompilesWhenBuilt(LinearLearner):
  def __init__(self, **config):
    super().__init__(**config)
    jax.jit(lambda a: a - 1)(jnp.ones(2))


@nevis.register_learner("x_in_predict")
class PlainJitInPredict(LinearLearner):
  def predict(self, task, state, images):
    return jax.jit(lambda x: x)(super().predict(task, state, images))


@nevis.register_learner("x_eager")
class Eager(LinearLearner):
  """Adds an eager matmul per task: metered, in the training column."""

  def train(self, task, state):
    x = jnp.ones((EAGER_SIDE, EAGER_SIDE))
    x @ x
    return super().train(task, state)


@nevis.register_learner("x_eager_while")
class EagerWhile(LinearLearner):
  """An eager while_loop whose trip count depends on data: its FLOPs cannot be counted."""

  def train(self, task, state):
    jax.lax.while_loop(lambda x: x < 10.0, lambda x: x * 2.0, jnp.float32(1.0))
    return super().train(task, state)


@nevis.register_learner("x_helper")
class Helper(LinearLearner):
  """Declares helper work: a plain-jit matmul inside task.unmetered, reported apart."""

  def train(self, task, state):
    table = jnp.ones((8, 8))  # eager, metered (0 FLOPs)
    with task.unmetered("build a lookup table"):
      jax.jit(lambda a: a @ a)(table)
    return super().train(task, state)


@nevis.register_learner("x_helper_without_reason")
class HelperWithoutReason(LinearLearner):
  def train(self, task, state):
    with task.unmetered(""):
      pass
    return super().train(task, state)


@nevis.register_learner("x_zero")
class Zero(nevis.Learner):
  """Computes nothing at all: constant scores."""

  def init(self, ctx):
    return {}

  def train(self, task, state):
    return state

  def predict(self, task, state, images):
    return np.zeros((len(images), task.info.num_classes), np.float32)


@nevis.register_learner("x_set_state")
class SetState(LinearLearner):
  def train(self, task, state):
    return {**super().train(task, state), "seen": {task.info.name}}


@nevis.register_learner("x_object_state")
class ObjectState(LinearLearner):
  def train(self, task, state):
    return {**super().train(task, state), "extra": np.array([object()], dtype=object)}


@nevis.register_learner("x_bad_checkpoint")
class BadCheckpoint(LinearLearner):
  def train(self, task, state):
    task.checkpoint.save({"step": 1, "fn": len})
    return super().train(task, state)


@nevis.register_learner("x_text_scores")
class TextScores(LinearLearner):
  def predict(self, task, state, images):
    return "no scores"


@nevis.register_learner("x_raises")
class Raises(LinearLearner):
  """Its own bug: raises on the task named by $NEVIS_TEST_FAIL_TASK (the learner's traceback is kept)."""

  def train(self, task, state):
    if task.info.name == os.environ.get("NEVIS_TEST_FAIL_TASK"):
      raise ValueError(f"cannot train {task.info.name}")
    return super().train(task, state)
