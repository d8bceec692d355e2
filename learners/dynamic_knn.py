"""NEVIS's "Dynamic" baseline: start each task from the stored model whose features suit it best.

For every candidate — the backbone trained on each earlier task, and a fresh initialisation — the
learner embeds up to `knn_train_examples` training and `knn_dev_examples` dev images, classifies the dev
images by their k nearest training neighbours (Euclidean, majority vote; for multi-label tasks the mean
of the neighbours' label vectors, scored by mAP), and fine-tunes from the best-scoring candidate with the
usual learning-rate search. dm_nevis (`transfer_matrix_from_knn.py`) embeds with the backbone in training
mode; we use evaluation mode (each stored model's own batch statistics), so a candidate's score does not
depend on the batch it is embedded in. Every earlier task's backbone is kept in the state. All embedding and distance work is compiled through
`task.jit`, so its FLOPs are charged to training.
"""
from __future__ import annotations

import functools
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from nevis.learners import augment
from nevis.learners.finetuning import (
    _INIT_STREAM, Backbone, FinetuningLearner, _to_device, key_words, stream_key,
)
from nevis.learners.resnet import ResNet
from nevis.metrics.classification import task_error
from nevis.protocol import State, TrainingTask
from nevis.registry import register_learner

FRESH = "(fresh initialisation)"


@functools.cache
def _embedding_functions(width: int, blocks: tuple[int, ...], image_size: int):
  graphdef = nnx.graphdef(nnx.eval_shape(lambda: ResNet(width=width, blocks_per_stage=blocks, rngs=nnx.Rngs(0))))

  def knn_embed(params, batch_stats, images):
    backbone = nnx.merge(graphdef, params, batch_stats)
    return backbone(augment.eval_preprocess(images, image_size), train=False)

  def knn_neighbours(train_features, query_features, k: int):
    # Squared Euclidean distances without forming differences: |q|^2 - 2 q.t + |t|^2.
    d = (jnp.sum(query_features**2, 1, keepdims=True) - 2 * query_features @ train_features.T
         + jnp.sum(train_features**2, 1)[None, :])
    return jax.lax.top_k(-d, k)[1]

  return knn_embed, knn_neighbours


@register_learner("dynamic_knn")
class DynamicKnnLearner(FinetuningLearner):
  """Each task starts from the earlier task's backbone (or a fresh one) whose kNN dev score is best (NEVIS's "Dynamic")."""

  defaults = {
      **FinetuningLearner.defaults,
      "knn_k": 5,
      "knn_train_examples": 1000,
      "knn_dev_examples": 500,
  }

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    config = self.config
    embed, neighbours = _embedding_functions(config["width"], tuple(config["blocks_per_stage"]), config["image_size"])
    embed, neighbours = task.jit(embed), task.jit(neighbours, static_argnums=2)
    fresh = self._functions.get(task.jit, "backbone_init")(stream_key(key_words(task.rng), config["seed"], _INIT_STREAM))
    candidates = {**state["backbones"], FRESH: fresh}
    train_n = min(len(task.train), config["knn_train_examples"])
    dev_n = min(len(task.dev), config["knn_dev_examples"])
    if train_n == 0 or dev_n == 0:
      return None
    k = min(config["knn_k"], train_n)
    batch = config["eval_batch_size"]
    train_images, train_labels = task.train.images[:train_n], np.asarray(task.train.labels[:train_n])
    dev_images, dev_labels = task.dev.images[:dev_n], np.asarray(task.dev.labels[:dev_n])
    scores = {}
    for name, backbone in candidates.items():
      backbone = _to_device(backbone)

      def features(images):
        parts = []
        for start in range(0, len(images), batch):
          chunk = np.asarray(images[start : start + batch])
          real = len(chunk)
          if real < batch:  # fixed shapes: pad the last chunk
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], batch - real, axis=0)])
          parts.append(np.asarray(embed(backbone["params"], backbone["batch_stats"], chunk))[:real])
        return np.concatenate(parts)

      index = np.asarray(neighbours(features(train_images), features(dev_images), k))  # (dev_n, k)
      scores[name] = knn_error(train_labels[index], dev_labels, task.info.num_classes, task.info.multi_label)
    chosen = min(scores, key=lambda n: (scores[n], n == FRESH))  # ties go to a stored backbone
    task.notes["dynamic_knn"] = {"knn_dev_error": scores, "start_from": chosen}
    return None if chosen == FRESH else candidates[chosen]

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    # Every task's model is kept: each is a candidate for the tasks to come.
    return {**state, "heads": {**state["heads"], task_name: head},
            "backbones": {**state["backbones"], task_name: backbone}, "carry": {}}


def knn_error(neighbour_labels: np.ndarray, labels: np.ndarray, num_classes: int, multi_label: bool) -> float:
  """Error of k-nearest-neighbour predictions from the neighbours' labels ((n, k) or (n, k, K))."""
  if multi_label:
    return task_error(neighbour_labels.astype(np.float64).mean(axis=1), labels, multi_label=True)
  votes = np.zeros((len(labels), num_classes))
  np.add.at(votes, (np.arange(len(labels))[:, None], neighbour_labels), 1.0)
  # Ties go to the nearest neighbour's class: add a small bonus in neighbour order.
  votes[np.arange(len(labels)), neighbour_labels[:, 0]] += 0.5
  return float(np.mean(votes.argmax(1) != labels))
