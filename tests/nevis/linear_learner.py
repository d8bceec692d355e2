"""Tiny learners for the harness's own tests (imported with `--import tests.nevis.linear_learner`)."""
from __future__ import annotations

import dataclasses
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np

import nevis
from nevis.options import Options, option

HEAD = 16  # class counts padded to one bucket: one compilation for every task


def _features(images):
  x = images.astype(jnp.float32) / 127.5 - 1.0
  return jnp.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=-1)  # (B, 2C)


def _logits(params, images, num_classes_mask):
  z = _features(images) @ params["w"] + params["b"]
  return jnp.where(num_classes_mask, z, -1e9)


def _loss(params, images, labels, mask):
  logits = _logits(params, images, mask)
  return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


def _train_step(params, images, labels, mask, lr):
  logits = _logits(params, images, mask)
  loss, grads = jax.value_and_grad(_loss)(params, images, labels, mask)
  return jax.tree.map(lambda p, g: p - lr * g, params, grads), logits


def _predict(params, images, mask):
  return _logits(params, images, mask)


def _maybe_crash(point: str) -> None:
  if os.environ.get("NEVIS_TEST_CRASH_AT") == point:
    os.kill(os.getpid(), signal.SIGKILL)


@nevis.register_learner("test_linear")
class LinearLearner(nevis.Learner):
  """Softmax regression on colour statistics; fine-tunes from the previous task."""

  @dataclasses.dataclass(frozen=True)
  class Config(Options):
    num_steps: int = option(30, "SGD steps per task", minimum=0)
    batch_size: int = option(16, "training batch", minimum=1)
    learning_rate: float = option(0.5, "SGD step size", minimum=0)
    checkpoint: bool = option(True, "save in-task checkpoints when the runner asks")

  def init(self, ctx):
    channels = 3
    return {"w": np.zeros((2 * channels, HEAD), np.float32), "b": np.zeros((HEAD,), np.float32), "heads": {}}

  def train(self, task, state):
    k = task.info.num_classes
    mask = np.arange(HEAD) < k
    step_fn = task.jit(_train_step)
    params = {"w": jnp.asarray(state["w"]), "b": jnp.asarray(state["b"])}
    start = 0
    restored = task.checkpoint.restore() if self.config.checkpoint else None
    if restored is not None:
      params, start = {"w": restored["w"], "b": restored["b"]}, int(restored["step"])
    lr = np.float32(self.config.learning_rate)
    for step in range(start, self.config.num_steps):
      batch = task.train.batch_at(step, self.config.batch_size, seed=7)
      params, logits = step_fn(params, batch["images"], batch["labels"], mask, lr)
      if task.online_prequential is not None:
        task.online_prequential.record(batch, np.asarray(logits)[:, :k])
      if self.config.checkpoint and task.checkpoint.due(step + 1):
        task.checkpoint.save({"w": params["w"], "b": params["b"], "step": step + 1})
        _maybe_crash(f"train:{task.info.name}:{step + 1}")
    task.notes["learning_rate"] = float(lr)
    heads = dict(state["heads"])
    heads[task.info.name] = {"w": np.asarray(params["w"]), "b": np.asarray(params["b"])}
    return {"w": np.asarray(params["w"]), "b": np.asarray(params["b"]), "heads": heads}

  def predict(self, task, state, images):
    head = state["heads"][task.info.name]
    mask = np.arange(HEAD) < task.info.num_classes
    logits = task.jit(_predict)({"w": head["w"], "b": head["b"]}, images, mask)
    return logits[:, : task.info.num_classes]


@nevis.register_learner("test_bad_shape")
class BadShapeLearner(LinearLearner):
  """Returns one score too many."""

  def predict(self, task, state, images):
    out = super().predict(task, state, images)
    return jnp.concatenate([out, out[:, :1]], axis=1)


@nevis.register_learner("test_nan")
class NanLearner(LinearLearner):
  """Returns NaN scores."""

  def predict(self, task, state, images):
    return super().predict(task, state, images) * jnp.nan


@nevis.register_learner("test_unmetered")
class UnmeteredLearner(LinearLearner):
  """Trains with plain jax.jit, which the harness does not see."""

  def train(self, task, state):
    jax.jit(lambda x: x + 1)(1.0)
    return state


def _colour_task(name: str, year: int, num_classes: int, seed: int, n_per_class: int = 24, size: int = 8):
  """Class c is a colour; images are that colour plus noise. Test images carry a marker value."""
  rng = np.random.default_rng(seed)
  colours = rng.integers(30, 225, size=(num_classes, 3))
  splits = {}
  for i, split in enumerate(nevis.task.SPLITS):
    n = n_per_class * (2 if split == "train" else 1)
    labels = np.repeat(np.arange(num_classes), n).astype(np.int32)
    noise = rng.normal(0, 25, size=(len(labels), size, size, 3))
    images = np.clip(colours[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    if split == "test":
      images[:, 0, 0, :] = 1  # a marker no other split has
    splits[split] = nevis.SplitData(images, labels)
  info = nevis.TaskInfo(
      name=name, dataset=name, year=year, kind=nevis.TaskKind.SINGLE_LABEL,
      class_names=tuple(f"c{i}" for i in range(num_classes)), image_shape=(size, size, 3), source="test",
  )
  return nevis.Task(info, lambda split: splits[split])


@nevis.register_stream("test_colours")
def colours_stream(num_tasks: int = 3):
  """Three tiny colour tasks, in memory."""
  tasks = [_colour_task(f"colours_{i}", 2000 + i, 3 + i, seed=i) for i in range(num_tasks)]
  return nevis.Stream("test_colours", tasks)
