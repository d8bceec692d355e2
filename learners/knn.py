"""`knn`: k-nearest neighbours on downscaled pixels or on fixed random features — a floor of the trade-off.

Per task the learner embeds every training image (at most `max_train_examples`, a seeded random subset
beyond that) and keeps the embeddings and labels in its state; a query is classified by its k nearest
training embeddings (Euclidean; majority vote, ties to the nearest neighbour's class; multi-label: the
mean of the neighbours' label vectors). k is chosen on dev from `k_values` (lowest dev error, ties: the
smaller k); without dev data the first value is used.

Embeddings (`features`):
  pixels   the central square resized to `image_size` (antialiased), RGB in [-1, 1], flattened
  random   those pixels through one fixed random ReLU layer of `random_features` units (Gaussian
           weights / sqrt(input dimension), drawn once from `seed`), then scaled to unit length

Every embedding, distance and vote runs through `task.jit`, so the FLOPs of training (embedding the
train set, choosing k on dev) and of prediction are metered like any learner's. Predictions are
log-probabilities of smoothed votes: (votes + 1/2 for the nearest neighbour's class + 1/K) / (k + 3/2).
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from nevis.learners import augment
from nevis.learners.toolkit import derive_key, key_words, map_batches
from nevis.metrics.classification import task_error
from nevis.options import Options, option
from nevis.protocol import InitContext, Learner, PredictionTask, State, TrainingTask
from nevis.registry import register_learner

FEATURES = ("pixels", "random")
_SUBSET_KEY = 0  # the path of the only key this learner draws (`toolkit.derive_key`)


def nearest_neighbours(train_features, query_features, k: int) -> jax.Array:
  """(Q, k) indices of each query's k nearest training rows (squared Euclidean distance)."""
  # |q|^2 - 2 q.t + |t|^2 without forming the (Q, N, D) differences.
  distances = (jnp.sum(query_features**2, 1, keepdims=True) - 2 * query_features @ train_features.T
               + jnp.sum(train_features**2, 1)[None, :])
  return jax.lax.top_k(-distances, k)[1]


def knn_error(neighbour_labels: np.ndarray, labels: np.ndarray, num_classes: int, multi_label: bool) -> float:
  """Error of k-nearest-neighbour predictions from the neighbours' labels ((n, k) or (n, k, K))."""
  if multi_label:
    return task_error(neighbour_labels.astype(np.float64).mean(axis=1), labels, multi_label=True)
  votes = np.zeros((len(labels), num_classes))
  np.add.at(votes, (np.arange(len(labels))[:, None], neighbour_labels), 1.0)
  # Ties go to the nearest neighbour's class: add a small bonus in neighbour order.
  votes[np.arange(len(labels)), neighbour_labels[:, 0]] += 0.5
  return float(np.mean(votes.argmax(1) != labels))


def vote_logits(neighbour_labels, k, class_slots, *, multi_label: bool) -> jax.Array:
  """Log-probabilities (Q, C) from the labels of each query's nearest neighbours, nearest first.

  Single-label: neighbour_labels (Q, kmax) class ids; multi-label: (Q, kmax, C) in {0, 1}, giving
  per-label sigmoid logits. Only the first `k` vote (an array: one compilation serves every k);
  `class_slots` is any (C,) array, its length the class count."""
  kmax, num_classes = neighbour_labels.shape[1], class_slots.shape[0]
  voting = (jnp.arange(kmax) < k).astype(jnp.float32)
  if multi_label:
    positive = (jnp.einsum("qkc,k->qc", neighbour_labels.astype(jnp.float32), voting) + 0.5) / (k + 1.0)
    return jnp.log(positive) - jnp.log1p(-positive)
  one_hot = jax.nn.one_hot(neighbour_labels, num_classes)  # (Q, kmax, C)
  votes = jnp.einsum("qkc,k->qc", one_hot, voting) + 0.5 * one_hot[:, 0]  # ties go to the nearest
  return jnp.log((votes + 1.0 / num_classes) / (k + 1.5))


@functools.cache
def _embed_function(features: str, image_size: int):
  def knn_embed(images, projection):
    pixels = augment.eval_preprocess(images, image_size).reshape(images.shape[0], -1)
    if features == "pixels":
      return pixels
    hidden = jax.nn.relu(pixels @ projection)
    return hidden / jnp.maximum(jnp.linalg.norm(hidden, axis=1, keepdims=True), 1e-6)

  return knn_embed


@dataclasses.dataclass(frozen=True)
class KnnConfig(Options):
  features: str = option("pixels", "embedding: downscaled pixels, or fixed random ReLU features of them",
                         choices=FEATURES)
  image_size: int = option(16, "side of the downscaled images, in pixels", minimum=1)
  random_features: int = option(1024, "features: random: units of the random layer", minimum=1)
  k_values: tuple[int, ...] = option((1, 3, 5, 9, 15), "candidate neighbour counts, chosen on dev", minimum=1)
  max_train_examples: int = option(20_000, "training images kept per task (a random subset beyond)", minimum=1)
  eval_batch_size: int = option(128, "images embedded per call", minimum=1)
  seed: int = option(0, "seed of the random features and the subsets", minimum=0)

  def check(self):
    if not self.k_values:
      self.fail("k_values", "must hold at least one value")


@register_learner("knn")
class KnnLearner(Learner):
  """k-nearest neighbours on pixels or fixed random features; k chosen on dev."""

  Config = KnnConfig

  def init(self, ctx: InitContext) -> State:
    c = self.config
    inputs = c.image_size ** 2 * 3
    if c.features != "random":
      return {"memory": {}}
    # Drawn once for the whole stream: the features are fixed.
    projection = np.random.default_rng([c.seed, 1]).standard_normal((inputs, c.random_features))
    return {"projection": (projection / np.sqrt(inputs)).astype(np.float32), "memory": {}}

  def _embed(self, jit, state, images) -> np.ndarray:
    embed = jit(_embed_function(self.config.features, self.config.image_size))
    projection = state.get("projection", np.zeros((1, 1), np.float32))  # unused by pixel features
    return map_batches(lambda chunk: embed(chunk, projection), np.asarray(images), self.config.eval_batch_size)

  def _logits(self, jit, memory, query: np.ndarray, k_values: list[int], info) -> list[np.ndarray]:
    """Per k of `k_values`, the (Q, C) logits of the queries; one neighbour search for all."""
    train_features, train_labels = jnp.asarray(memory["features"]), np.asarray(memory["labels"])
    kmax = min(max(k_values), len(train_labels))
    index = np.asarray(jit(nearest_neighbours, static_argnums=2)(train_features, jnp.asarray(query), kmax))
    votes = jit(vote_logits, static_argnames="multi_label")
    slots = np.ones(info.num_classes, np.float32)
    return [np.asarray(votes(train_labels[index], np.float32(min(k, kmax)), slots, multi_label=info.multi_label))
            for k in k_values]

  def train(self, task: TrainingTask, state: State) -> State:
    c, info = self.config, task.info
    n = len(task.train)
    index = np.arange(n)
    if n > c.max_train_examples:
      draw = np.random.default_rng(derive_key(key_words(task.rng), c.seed, _SUBSET_KEY))
      index = np.sort(draw.permutation(n)[: c.max_train_examples])
    memory = {"features": self._embed(task.jit, state, task.train.images[index]),
              "labels": np.asarray(task.train.labels)[index]}
    k_values = [int(k) for k in c.k_values]
    errors = []
    if len(task.dev):
      dev_features = self._embed(task.jit, state, task.dev.images)
      # Fixed-size query chunks (the last padded), as `predict` gets them: no compilation per remainder.
      logits = map_batches(lambda chunk: self._logits(task.jit, memory, chunk, k_values, info), dev_features,
                           c.eval_batch_size)
      labels = np.asarray(task.dev.labels)
      errors = [task_error(logits_of_k, labels, multi_label=info.multi_label) for logits_of_k in logits]
      chosen = k_values[int(np.lexsort((k_values, errors))[0])]
    else:
      chosen = k_values[0]
    memory["k"] = np.int64(chosen)
    task.notes["selection"] = {"select_by": "dev", "candidates": [{"k": k} for k in k_values],
                               "dev_error": [float(e) for e in errors], "chosen": {"k": chosen}}
    return {**state, "memory": {**state["memory"], info.name: memory}}

  def predict(self, task: PredictionTask, state: State, images) -> np.ndarray:
    memory = state["memory"][task.info.name]
    query = self._embed(task.jit, state, images)
    return self._logits(task.jit, memory, query, [int(memory["k"])], task.info)[0]
