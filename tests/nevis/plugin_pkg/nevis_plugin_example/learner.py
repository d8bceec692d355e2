"""A third-party learner: registered only through its package's entry point."""
import dataclasses

import jax.numpy as jnp
import numpy as np

import nevis
from nevis.options import Options, option


def _step(w, images, labels):
  x = images.astype(jnp.float32).mean(axis=(1, 2))  # (B, 3)
  logits = x @ w
  grad = x.T @ (jnp.eye(w.shape[1])[labels] - jnp.exp(logits) / jnp.exp(logits).sum(1, keepdims=True))
  return w + 1e-4 * grad


@nevis.register_learner("plugin_example")
class PluginLearner(nevis.Learner):
  """Mean-colour softmax regression from an installed plug-in."""

  @dataclasses.dataclass(frozen=True)
  class Config(Options):
    steps: int = option(5, "gradient steps per task", minimum=0)

  def init(self, ctx):
    return {}

  def train(self, task, state):
    w = jnp.zeros((3, task.info.num_classes))
    step = task.jit(_step)
    for s in range(self.config.steps):
      batch = task.train.batch_at(s, 8, seed=0)
      w = step(w, batch["images"], batch["labels"])
    return {**state, task.info.name: np.asarray(w)}

  def predict(self, task, state, images):
    return task.jit(lambda w, x: x.astype(jnp.float32).mean(axis=(1, 2)) @ w)(state[task.info.name], images)
