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

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np
from flax import nnx

from nevis.learners import augment, compiler_options
from nevis.learners.finetuning import Backbone, FinetuningLearner
from nevis.learners.knn import knn_error, nearest_neighbours
from nevis.learners.recipe import FinetuningConfig
from nevis.learners.toolkit import Network, Purpose, bind, derive_key, key_words, map_batches, to_device
from nevis.options import option
from nevis.protocol import State, TrainingTask
from nevis.registry import register_learner

FRESH = "(fresh initialisation)"
EMBEDDINGS = ("eval", "train")
FRESH_POLICIES = ("candidate", "first_task")


def knn_embed(net: Network, train_mode: bool, params, batch_stats, images):
  backbone = nnx.merge(net.graphdef, params, batch_stats)
  return backbone(augment.eval_preprocess(images, net.image_size), train=train_mode)


@functools.cache
def _embedding_function(net: Network, train_mode: bool):
  return bind(knn_embed, net, train_mode)  # one function object per network: compiled once per stream


@dataclasses.dataclass(frozen=True)
class DynamicKnnConfig(FinetuningConfig):
  """The fine-tuning options, and how the kNN score of each candidate start is measured."""

  knn_k: int = option(5, "neighbours that vote", minimum=1)
  knn_train_examples: int = option(10_000, "training images embedded per candidate (a random subset)", minimum=1)
  knn_dev_examples: int = option(5_000, "dev images classified per candidate (a random subset)", minimum=1)
  knn_embedding: str = option("eval", "BatchNorm statistics of the embeddings: stored (eval) or per batch (train)",
                              choices=EMBEDDINGS)
  knn_fresh: str = option("candidate", "a fresh initialisation competes at every task, or only at the first",
                          choices=FRESH_POLICIES)


@register_learner("dynamic_knn")
class DynamicKnnLearner(FinetuningLearner):
  """Each task starts from the earlier task's backbone (or a fresh one) whose kNN dev score is best (NEVIS's "Dynamic")."""

  Config = DynamicKnnConfig

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    config = self.config
    train_n = min(len(task.train), config.knn_train_examples)
    dev_n = min(len(task.dev), config.knn_dev_examples)
    candidates = dict(state["backbones"])
    if config.knn_fresh == "candidate" or not candidates:
      words = key_words(task.rng)
      candidates[FRESH] = self._functions.get(task.jit, "backbone_init")(derive_key(words, config.seed, Purpose.INIT))
    if len(candidates) == 1 or train_n == 0 or dev_n == 0:
      chosen = next(iter(candidates))
      task.notes["dynamic_knn"] = {"knn_dev_error": {}, "start_from": chosen}
      return None if chosen == FRESH else candidates[chosen]
    train_mode = config.knn_embedding == "train"
    embed = task.jit(_embedding_function(self._functions.network, train_mode), **compiler_options.jit_options())
    neighbours = task.jit(nearest_neighbours, static_argnums=2)
    # A random subset (dm_nevis takes the first N of a shuffled split); stored order is often by class.
    draw = np.random.default_rng(derive_key(key_words(task.rng), config.seed, Purpose.KNN_SUBSET))
    train_index = np.sort(draw.permutation(len(task.train))[:train_n])
    dev_index = np.sort(draw.permutation(len(task.dev))[:dev_n])
    train_images, train_labels = task.train.images[train_index], np.asarray(task.train.labels)[train_index]
    dev_images, dev_labels = task.dev.images[dev_index], np.asarray(task.dev.labels)[dev_index]
    k = min(config.knn_k, train_n)
    batch = config.eval_batch_size
    scores = {}
    for name, backbone in candidates.items():
      backbone = to_device(backbone)

      def features(images):
        # Eval mode embeds each example on its own, so the last batch is padded to the one compiled shape;
        # train mode's batch statistics would see the padding, so its last batch keeps its own size.
        return map_batches(lambda chunk: embed(backbone["params"], backbone["batch_stats"], chunk), images, batch,
                           pad=not train_mode)

      index = np.asarray(neighbours(jnp.asarray(features(train_images)), jnp.asarray(features(dev_images)), k))
      scores[name] = knn_error(train_labels[index], dev_labels, task.info.num_classes, task.info.multi_label)
    chosen = min(scores, key=lambda n: (scores[n], n == FRESH))  # ties go to a stored backbone
    task.notes["dynamic_knn"] = {"knn_dev_error": scores, "start_from": chosen}
    return None if chosen == FRESH else candidates[chosen]

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    # Every task's model is kept: each is a candidate for the tasks to come.
    return {**state, "heads": {**state["heads"], task_name: head},
            "backbones": {**state["backbones"], task_name: backbone}, "carry": {}}
