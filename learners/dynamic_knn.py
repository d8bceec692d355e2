"""NEVIS's "Dynamic" baseline: start each task from the stored model whose features suit it best.

For every candidate — the backbone trained on each earlier task, and (see `knn_fresh`) a fresh
initialisation — the learner embeds a random subset of up to `knn_train_examples` training and
`knn_dev_examples` dev images (dm_nevis: 10,000 and 5,000, shuffled), classifies the dev images by their
`knn_k` nearest training neighbours (Euclidean, majority vote, ties to the nearest neighbour's class; for
multi-label tasks the mean of the neighbours' label vectors, scored by mAP), and fine-tunes from the
best-scoring candidate with the usual search. Every earlier task's backbone is kept in the state.

Options where dm_nevis (`finetuning_dknn_learner.py`, `transfer_matrix_from_knn.py`) differs:
- `knn_embedding: eval` embeds with each backbone's stored batch statistics, so a candidate's score does
  not depend on which images share its batch; `train` uses the statistics of each embedding batch
  (`eval_batch_size` images, the last batch at its own size) as dm_nevis does.
- `knn_fresh: candidate` lets a fresh initialisation win at any task; `first_task` (dm_nevis) starts
  from a fresh one only when no earlier backbone exists — dm_nevis scores the fresh candidate but passes
  over it for the best stored one — so the fresh candidate is not even embedded after the first task.
All embedding and distance work is compiled through `task.jit`, so its FLOPs are charged to training
(dm_nevis left them out).
"""
from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from flax import nnx

from nevis.learners import augment
from nevis.learners.finetuning import _INIT_STREAM, Backbone, FinetuningLearner, _to_device, build_resnet
from nevis.learners.recipe import key_words, stream_key
from nevis.errors import ConfigError
from nevis.learners.knn import knn_error, nearest_neighbours
from nevis.protocol import State, TrainingTask
from nevis.registry import register_learner

FRESH = "(fresh initialisation)"
EMBEDDINGS = ("eval", "train")
FRESH_POLICIES = ("candidate", "first_task")
_SUBSET_STREAM = 5  # the kNN subsets' draw (finetuning uses 0-3)


@functools.cache
def _embedding_function(architecture: tuple, image_size: int, train_mode: bool):
  graphdef = nnx.graphdef(nnx.eval_shape(lambda: build_resnet(dict(architecture), nnx.Rngs(0))))

  def knn_embed(params, batch_stats, images):
    backbone = nnx.merge(graphdef, params, batch_stats)
    return backbone(augment.eval_preprocess(images, image_size), train=train_mode)

  return knn_embed


@register_learner("dynamic_knn")
class DynamicKnnLearner(FinetuningLearner):
  """Each task starts from the earlier task's backbone (or a fresh one) whose kNN dev score is best (NEVIS's "Dynamic")."""

  defaults = {
      **FinetuningLearner.defaults,
      "knn_k": 5,
      "knn_train_examples": 10_000,
      "knn_dev_examples": 5_000,
      "knn_embedding": "eval",
      "knn_fresh": "candidate",
  }

  def __init__(self, **config):
    super().__init__(**config)
    for key, allowed in (("knn_embedding", EMBEDDINGS), ("knn_fresh", FRESH_POLICIES)):
      if self.config[key] not in allowed:
        raise ConfigError(f"{type(self).__name__}.{key} must be one of {allowed}; got {self.config[key]!r}")
    for key in ("knn_k", "knn_train_examples", "knn_dev_examples"):
      if self.config[key] < 1:
        raise ConfigError(f"{type(self).__name__}.{key} must be >= 1; got {self.config[key]!r}")

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    config = self.config
    train_n = min(len(task.train), config["knn_train_examples"])
    dev_n = min(len(task.dev), config["knn_dev_examples"])
    candidates = dict(state["backbones"])
    if config["knn_fresh"] == "candidate" or not candidates:
      words = key_words(task.rng)
      candidates[FRESH] = self._functions.get(task.jit, "backbone_init")(stream_key(words, config["seed"], _INIT_STREAM))
    if len(candidates) == 1 or train_n == 0 or dev_n == 0:
      chosen = next(iter(candidates))
      task.notes["dynamic_knn"] = {"knn_dev_error": {}, "start_from": chosen}
      return None if chosen == FRESH else candidates[chosen]
    architecture = tuple((key, tuple(config[key]) if isinstance(config[key], list) else config[key])
                         for key in ("width", "blocks_per_stage", "stem"))
    train_mode = config["knn_embedding"] == "train"
    embed = task.jit(_embedding_function(architecture, config["image_size"], train_mode))
    neighbours = task.jit(nearest_neighbours, static_argnums=2)
    # A random subset (dm_nevis takes the first N of a shuffled split); stored order is often by class.
    draw = np.random.default_rng(stream_key(key_words(task.rng), config["seed"], _SUBSET_STREAM))
    train_index = np.sort(draw.permutation(len(task.train))[:train_n])
    dev_index = np.sort(draw.permutation(len(task.dev))[:dev_n])
    train_images, train_labels = task.train.images[train_index], np.asarray(task.train.labels)[train_index]
    dev_images, dev_labels = task.dev.images[dev_index], np.asarray(task.dev.labels)[dev_index]
    k = min(config["knn_k"], train_n)
    batch = config["eval_batch_size"]
    scores = {}
    for name, backbone in candidates.items():
      backbone = _to_device(backbone)

      def features(images):
        parts = []
        for start in range(0, len(images), batch):
          chunk = np.asarray(images[start : start + batch])
          real = len(chunk)
          if real < batch and not train_mode:  # fixed shapes: pad the last chunk (per-example in eval mode)
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], batch - real, axis=0)])
          parts.append(np.asarray(embed(backbone["params"], backbone["batch_stats"], chunk))[:real])
        return np.concatenate(parts)

      index = np.asarray(neighbours(jnp.asarray(features(train_images)), jnp.asarray(features(dev_images)), k))
      scores[name] = knn_error(train_labels[index], dev_labels, task.info.num_classes, task.info.multi_label)
    chosen = min(scores, key=lambda n: (scores[n], n == FRESH))  # ties go to a stored backbone
    task.notes["dynamic_knn"] = {"knn_dev_error": scores, "start_from": chosen}
    return None if chosen == FRESH else candidates[chosen]

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    # Every task's model is kept: each is a candidate for the tasks to come.
    return {**state, "heads": {**state["heads"], task_name: head},
            "backbones": {**state["backbones"], task_name: backbone}, "carry": {}}
