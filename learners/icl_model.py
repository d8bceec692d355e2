"""The in-context learner's network and its pure scoring functions (used by `nevis.learners.icl`).

Token layout (one token per example):
    context example i:  token = encoder(image_i) + label_embedding[id(y_i)]
    query:              token = encoder(image)   + label_embedding[NO_LABEL]     (NO_LABEL = label_vocab)
A prompt is k context tokens; each query is ONE more token after them. The causal sequence model's output
at the query token, read out to `label_vocab` id logits, predicts the query's label id. Queries never
see each other: the context is run once (`SequenceModel.extend` -> cache) and every query is a separate
one-token continuation of that cache, in training and at prediction alike.

Class-to-id assignment: a prompt carries `perm` (label_vocab,), a permutation of the ids; class c is shown
as id perm[c]. Only the first K entries are used by a K-class task, so the id logits are read back into
class space as logits[perm[c]] and renormalised over the K classes (`class_log_probs`): unused ids get
no probability. Relabelling the context by a class permutation sigma together with perm' = perm o sigma^-1
feeds the model bitwise the same tokens, so the class scores permute by sigma exactly.

Parameters are kept as pure dicts whose keys are all strings (list indices of `nnx.List` become "0", "1",
...), which is what a checkpoint round trip gives back; `merge` turns them back into a module.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from nevis.learners.nn.blocks import SequenceModel, SequenceModelConfig, VitEncoder, VitEncoderConfig
from nevis.learners.resnet import ResNet

ENCODERS = ("resnet", "vit")


class IclModel(nnx.Module):
  """Encoder (ResNet or ViT) -> features (B, F); label embeddings (label_vocab + 1, F); causal sequence
  model (B, T, F) -> (B, T, label_vocab)."""

  def __init__(self, *, encoder: str, width: int, blocks_per_stage: tuple[int, ...], image_size: int,
               vit: VitEncoderConfig, sequence: SequenceModelConfig, label_vocab: int, rngs: nnx.Rngs):
    self.encoder_kind = encoder
    if encoder == "resnet":
      self.encoder = ResNet(width=width, blocks_per_stage=blocks_per_stage, rngs=rngs)
      feature_dim = self.encoder.feature_dim
    else:
      self.encoder = VitEncoder(dataclasses.replace(vit, image_size=image_size, in_channels=3), rngs=rngs)
      feature_dim = self.encoder.features_dim
    self.feature_dim = feature_dim
    self.label_vocab = label_vocab
    self.label_embed = nnx.Embed(label_vocab + 1, feature_dim, rngs=rngs)
    self.sequence = SequenceModel(dataclasses.replace(sequence, d_input=feature_dim, d_output=label_vocab), rngs=rngs)

  def encode(self, images: jax.Array, *, train: bool) -> jax.Array:
    if self.encoder_kind == "resnet":
      return self.encoder(images, train=train)
    return self.encoder(images)

  def tokens(self, features: jax.Array, label_ids: jax.Array) -> jax.Array:
    return features + self.label_embed(label_ids).astype(features.dtype)


def context_ids(perm: jax.Array, labels: jax.Array) -> jax.Array:
  """(S, k) label ids of context labels (S, k) under per-prompt assignments perm (S, V)."""
  return jnp.take_along_axis(perm, labels, axis=1)


def context_cache(model: IclModel, features: jax.Array, perm: jax.Array, labels: jax.Array) -> list:
  """Runs S contexts ((S, k, F) features, (S, k) class labels) once; returns the sequence model's cache."""
  _, cache = model.sequence.extend(model.tokens(features, context_ids(perm, labels)), None)
  return cache


def query_id_logits(model: IclModel, cache: list, query_features: jax.Array) -> jax.Array:
  """(S, Q, V) id logits of queries (S, Q, F), each a one-token continuation of its row's context cache."""
  num_contexts, num_queries = query_features.shape[:2]
  repeated = jax.tree.map(lambda leaf: jnp.repeat(leaf, num_queries, axis=0), cache)
  no_label = jnp.full((num_contexts * num_queries, 1), model.label_vocab, jnp.int32)
  tokens = model.tokens(query_features.reshape(num_contexts * num_queries, 1, -1), no_label)
  outputs, _ = model.sequence.extend(tokens, repeated)
  return outputs[:, 0].reshape(num_contexts, num_queries, -1).astype(jnp.float32)


def full_prompt_id_logits(model: IclModel, features: jax.Array, perm: jax.Array, labels: jax.Array,
                          query_features: jax.Array) -> jax.Array:
  """Reference for `query_id_logits`: every query scored with the whole prompt, no cache. (S, Q, V)."""
  context = model.tokens(features, context_ids(perm, labels))  # (S, k, F)
  num_contexts, num_queries = query_features.shape[:2]
  no_label = jnp.full((num_contexts, num_queries), model.label_vocab, jnp.int32)
  queries = model.tokens(query_features, no_label)  # (S, Q, F)
  outputs = []
  for q in range(num_queries):
    prompt = jnp.concatenate([context, queries[:, q:q + 1]], axis=1)
    outputs.append(model.sequence(prompt)[:, -1])
  return jnp.stack(outputs, axis=1).astype(jnp.float32)


def class_log_probs(id_logits: jax.Array, perm: jax.Array, num_classes: jax.Array) -> jax.Array:
  """(S, Q, V) id logits -> (S, Q, V) class log-probabilities; columns >= num_classes are -inf.
  `num_classes` is one count, or one per prompt (S,) (meta-pretraining episodes differ in their ways)."""
  gathered = jnp.take_along_axis(id_logits, perm[:, None, :], axis=2)  # column c = logit of id perm[c]
  valid = jnp.arange(id_logits.shape[-1]) < jnp.reshape(num_classes, (-1, 1, 1))
  return jax.nn.log_softmax(jnp.where(valid, gathered, -jnp.inf), axis=-1)


def averaged_class_log_probs(id_logits: jax.Array, perm: jax.Array, num_classes: jax.Array) -> jax.Array:
  """(Q, V): the mixture over the S sampled contexts, log mean_s p_s(class)."""
  log_probs = class_log_probs(id_logits, perm, num_classes)
  return jax.nn.logsumexp(log_probs, axis=0) - jnp.log(log_probs.shape[0])


def string_keys(tree: Any) -> Any:
  if isinstance(tree, Mapping):
    return {str(key): string_keys(value) for key, value in tree.items()}
  return tree


def module_keys(tree: Any) -> Any:
  """Inverse of `string_keys` for module state: digit keys are list indices."""
  if isinstance(tree, Mapping):
    return {(int(key) if isinstance(key, str) and key.isdigit() else key): module_keys(value)
            for key, value in tree.items()}
  return tree


def split(model: IclModel) -> tuple[Any, dict, dict]:
  """(graphdef, params, other state such as BatchNorm statistics), both as string-keyed pure dicts."""
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  return graphdef, string_keys(nnx.to_pure_dict(params)), string_keys(nnx.to_pure_dict(rest))


def merge(graphdef, params: dict, rest: dict) -> IclModel:
  return nnx.merge(graphdef, module_keys(params), module_keys(rest))


def rest_of(model: IclModel) -> dict:
  _, _, rest = nnx.split(model, nnx.Param, ...)
  return string_keys(nnx.to_pure_dict(rest))
