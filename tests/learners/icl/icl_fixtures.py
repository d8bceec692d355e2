"""Shared pieces of the icl tests: a tiny config, hand-built tasks, a call-counting jit."""
from __future__ import annotations

import collections

import jax
import numpy as np

from nevis.protocol import CheckpointHook, DataView, InitContext, Progress, TrainingTask
from nevis.task import SplitData, TaskInfo, TaskKind

IMAGE = 8
PEER = {"num_experts": 16, "num_heads": 2, "top_k": 2}


def tiny_config(mixer: str = "softmax", mlp: str = "dense", **overrides) -> dict:
  config = dict(
      width=4, blocks_per_stage=[1], image_size=IMAGE,
      sequence={"d_model": 16, "num_layers": 1, "num_heads": 2, "mixer": mixer, "mlp": mlp, "peer": PEER},
      label_vocab=4, context_size=6, queries_per_prompt=2, prompts_per_step=2, eval_contexts=2,
      num_steps=2, learning_rates=[0.01], batch_size=8, eval_batch_size=16,
  )
  config.update(overrides)
  return config


PALETTE = np.random.default_rng(123).integers(0, 256, (32, 3))


def colour_split(num_examples: int, num_classes: int, seed: int) -> SplitData:
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, num_examples).astype(np.int32)
  pixels = PALETTE[labels][:, None, None, :] + rng.normal(0, 20, (num_examples, IMAGE, IMAGE, 3))
  return SplitData(np.clip(pixels, 0, 255).astype(np.uint8), labels)


def channel_split(num_examples: int, seed: int) -> SplitData:
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 2, (num_examples, 3)).astype(np.uint8)
  pixels = 30 + 180 * labels[:, None, None, :] + rng.normal(0, 20, (num_examples, IMAGE, IMAGE, 3))
  return SplitData(np.clip(pixels, 0, 255).astype(np.uint8), labels)


class CountingJit:
  """jax.jit that counts the calls of each compiled function, by name."""

  def __init__(self):
    self.calls: collections.Counter = collections.Counter()

  def __call__(self, fn, **options):
    compiled = jax.jit(fn, **options)

    def call(*args, **kwargs):
      self.calls[fn.__name__] += 1
      return compiled(*args, **kwargs)

    return call


def make_task(name: str, train: SplitData, dev: SplitData, *, num_classes: int, multi_label: bool = False,
              jit=jax.jit, seed: int = 0) -> TrainingTask:
  kind = TaskKind.MULTI_LABEL if multi_label else TaskKind.SINGLE_LABEL
  info = TaskInfo(name, name, 2000, kind, tuple(f"c{i}" for i in range(num_classes)), train.images.shape[1:])
  return TrainingTask(
      info=info,
      train=DataView(train, num_classes, multi_label),
      dev=DataView(dev, num_classes, multi_label),
      rng=jax.random.key(seed),
      jit=jit,
      progress=Progress(),
      checkpoint=CheckpointHook(),
  )


def colour_task(name: str, num_classes: int, seed: int = 0, **kwargs) -> TrainingTask:
  return make_task(name, colour_split(32, num_classes, seed), colour_split(16, num_classes, seed + 100),
                   num_classes=num_classes, seed=seed, **kwargs)


def init_context(jit=jax.jit) -> InitContext:
  return InitContext(jax.random.key(0), jit, ())


def leaves_equal(a, b) -> bool:
  a_leaves, a_def = jax.tree.flatten(a)
  b_leaves, b_def = jax.tree.flatten(b)
  same = (np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a_leaves, b_leaves, strict=True))
  return a_def == b_def and all(same)
