"""The icl learner's compiled computations: module-level functions whose first argument is the `Network`.

`functions(config)` binds them once per architecture (their identity is the metered jit's cache key),
so every task, candidate and learner with that architecture shares their compilations.
"""
from __future__ import annotations

import functools
import json
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from nevis.learners import icl_model, toolkit
from nevis.learners.icl_model import IclModel
from nevis.learners.toolkit import Network, bind, wrap_key


def decay_mask(params) -> Any:
  """Weight decay on kernels, embeddings and PEER expert tables; not on biases or norm scales."""
  def decayed(path, _):
    name = getattr(path[-1], "key", None)
    return name in ("kernel", "embedding", "expert_up", "expert_down")
  return jax.tree_util.tree_map_with_path(decayed, params)


ARCHITECTURE = ("encoder", "width", "blocks_per_stage", "image_size", "vit", "sequence", "label_vocab",
                "weight_decay")  # the options the compiled functions depend on
_FUNCTIONS: dict[str, toolkit.CompiledFunctions] = {}


def functions(config) -> toolkit.CompiledFunctions:
  """The compiled functions of `config`'s architecture (an `IclConfig`), shared by every learner with it."""
  options = config.as_dict()
  key = json.dumps({name: options[name] for name in ARCHITECTURE}, sort_keys=True)
  if key not in _FUNCTIONS:
    _FUNCTIONS[key] = _compiled(config)
  return _FUNCTIONS[key]


def _compiled(config) -> toolkit.CompiledFunctions:
  build = functools.partial(_build, config)
  abstract = nnx.eval_shape(lambda: build(nnx.Rngs(0)))
  graphdef, _, _ = icl_model.split(abstract)
  tx = optax.chain(
      optax.clip_by_global_norm(1.0),
      optax.scale_by_adam(),
      optax.add_decayed_weights(config.weight_decay, mask=decay_mask),
  )
  net = Network(graphdef, tx, config.image_size, abstract.feature_dim)
  return toolkit.CompiledFunctions(net, {
      "model_init": (bind(model_init, net, build), {}),
      **toolkit.common_definitions(net),
      "icl_train_step": (bind(icl_train_step, net), {}),
      "icl_meta_train_step": (bind(icl_meta_train_step, net), {}),
      "head_train_step_single_label": (bind(icl_head_train_step, net, False), {}),
      "head_train_step_multi_label": (bind(icl_head_train_step, net, True), {}),
      "features": (bind(icl_features, net), {}),
      "head_forward": (bind(icl_head_forward, net), {}),
      "context_cache": (bind(icl_context_cache, net), {}),
      "score": (bind(icl_score, net), {}),
      "episode_log_probs": (bind(icl_episode_log_probs, net), {}),
  })


def model_shapes(config) -> dict:
  """{params, batch_stats} of `config`'s architecture as jax.ShapeDtypeStruct leaves (nothing is computed)."""
  _, params, batch_stats = icl_model.split(nnx.eval_shape(lambda: _build(config, nnx.Rngs(0))))
  return {"params": params, "batch_stats": batch_stats}


def _build(config, rngs: nnx.Rngs) -> IclModel:
  return IclModel(encoder=config.encoder, width=config.width, blocks_per_stage=config.blocks_per_stage,
                  image_size=config.image_size, vit=config.vit, sequence=config.sequence,
                  label_vocab=config.label_vocab, rngs=rngs)


def _merged(net: Network, params, batch_stats) -> IclModel:
  return icl_model.merge(net.graphdef, params, batch_stats)


def _apply_updates(net: Network, params, grads, opt_leaves, peak_lr, step, warmup_steps, total_steps):
  opt_state = toolkit.optimizer_state(net.tx, params, opt_leaves)
  params, opt_state = toolkit.scheduled_update(net.tx, params, grads, opt_state, step, peak_lr, warmup_steps,
                                               total_steps)
  return params, jax.tree.leaves(opt_state)


def model_init(net: Network, build, key_data):
  _, params, batch_stats = icl_model.split(build(nnx.Rngs(wrap_key(key_data))))
  return {"params": params, "batch_stats": batch_stats}


def icl_train_step(net: Network, params, batch_stats, opt_leaves, images, perm, context_labels, query_labels,
                   num_classes, peak_lr, step, warmup_steps, total_steps):
  """images: (P * (k + q), H, W, 3), the P contexts' examples first, then the P * q queries."""
  def loss_fn(params):
    model = _merged(net, params, batch_stats)
    context, queries = _prompt_features(model, images, context_labels.shape, query_labels.shape[1])
    return _icl_loss(model, context, queries, perm, context_labels, query_labels, num_classes), icl_model.rest_of(model)

  (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
  params, opt_leaves = _apply_updates(net, params, grads, opt_leaves, peak_lr, step, warmup_steps, total_steps)
  return params, new_stats, opt_leaves, loss


def icl_meta_train_step(net: Network, params, batch_stats, opt_leaves, images, perm, context_labels, query_labels,
                        num_classes, peak_lr, step, warmup_steps, total_steps, prototype_weight):
  """`icl_train_step` on episodes, its loss plus `prototype_weight` x a prototype loss on the encoder's features:
  each query classified by its squared distance to the mean features of each of its episode's classes in
  the context (Snell et al. 2017). It teaches the encoder to separate classes from the first steps, which
  the ICL loss alone does only after a long plateau (the sequence model learns from the ICL loss only).
  Returns the ICL loss, the figure prediction is judged by."""
  def loss_fn(params):
    model = _merged(net, params, batch_stats)
    context, queries = _prompt_features(model, images, context_labels.shape, query_labels.shape[1])
    icl = _icl_loss(model, context, queries, perm, context_labels, query_labels, num_classes)
    prototype = _prototype_loss(context, queries, context_labels, query_labels, num_classes, perm.shape[1])
    return icl + prototype_weight * prototype, (icl_model.rest_of(model), icl)

  (_, (new_stats, icl)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
  params, opt_leaves = _apply_updates(net, params, grads, opt_leaves, peak_lr, step, warmup_steps, total_steps)
  return params, new_stats, opt_leaves, icl


def _prompt_features(model: IclModel, images, context_shape, num_queries):
  """(P, k, F) context and (P, q, F) query features of a step's images (contexts first), in training mode."""
  num_prompts, k = context_shape
  features = model.encode(images, train=True)
  return (features[:num_prompts * k].reshape(num_prompts, k, -1),
          features[num_prompts * k:].reshape(num_prompts, num_queries, -1))


def _icl_loss(model: IclModel, context, queries, perm, context_labels, query_labels, num_classes):
  cache = icl_model.context_cache(model, context, perm, context_labels)
  log_probs = icl_model.class_log_probs(icl_model.query_id_logits(model, cache, queries), perm, num_classes)
  return -jnp.mean(jnp.take_along_axis(log_probs, query_labels[..., None], axis=2))


def _prototype_loss(context, queries, context_labels, query_labels, num_classes, width: int):
  """Mean nll of the queries' classes under softmax(-|f - mean_c|^2) over each prompt's classes c < num_classes."""
  members = jax.nn.one_hot(context_labels, width, dtype=context.dtype)  # (P, k, V)
  means = jnp.einsum("pkv,pkf->pvf", members, context) / jnp.maximum(members.sum(1), 1.0)[..., None]
  distances = jnp.sum((queries[:, :, None, :] - means[:, None, :, :]) ** 2, axis=-1)  # (P, q, V)
  valid = jnp.arange(width) < jnp.reshape(num_classes, (-1, 1, 1))
  log_probs = jax.nn.log_softmax(jnp.where(valid, -distances, -jnp.inf), axis=-1)
  return -jnp.mean(jnp.take_along_axis(log_probs, query_labels[..., None], axis=2))


def icl_head_train_step(net: Network, multi_label: bool, params, batch_stats, head, opt_leaves, images, labels,
                        num_classes, peak_lr, step, warmup_steps, total_steps):
  """The head route: the encoder and a linear head on plain batches; the sequence model is left as it is."""
  trainable = {"encoder": params["encoder"], "head": head}

  def loss_fn(trainable):
    model = _merged(net, {**params, "encoder": trainable["encoder"]}, batch_stats)
    logits = model.encode(images, train=True) @ trainable["head"]["kernel"] + trainable["head"]["bias"]
    loss = toolkit.loss(logits, labels, num_classes, 0.0, multi_label=multi_label)
    return loss, icl_model.rest_of(model)

  (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
  trainable, opt_leaves = _apply_updates(net, trainable, grads, opt_leaves, peak_lr, step, warmup_steps, total_steps)
  return {**params, "encoder": trainable["encoder"]}, new_stats, trainable["head"], opt_leaves, loss


def icl_features(net: Network, params, batch_stats, images):
  return _merged(net, params, batch_stats).encode(images, train=False).astype(jnp.float32)


def icl_head_forward(net: Network, params, batch_stats, head, images):
  features = _merged(net, params, batch_stats).encode(images, train=False)
  return (features @ head["kernel"] + head["bias"]).astype(jnp.float32)


def icl_context_cache(net: Network, params, batch_stats, images, perm, labels):
  """images (S * k, H, W, 3) -> the S contexts' prefix cache."""
  model = _merged(net, params, batch_stats)
  num_contexts, k = labels.shape
  features = model.encode(images, train=False).reshape(num_contexts, k, -1)
  return icl_model.context_cache(model, features, perm, labels)


def icl_score(net: Network, params, batch_stats, cache, images, perm, num_classes):
  """(Q, V) class log-probabilities of query images, averaged over the cached contexts."""
  model = _merged(net, params, batch_stats)
  features = model.encode(images, train=False)
  num_contexts = perm.shape[0]
  queries = jnp.broadcast_to(features[None], (num_contexts,) + features.shape)
  id_logits = icl_model.query_id_logits(model, cache, queries)
  return icl_model.averaged_class_log_probs(id_logits, perm, num_classes)


def icl_episode_log_probs(net: Network, params, batch_stats, images, perm, context_labels, query_images, num_classes):
  """(S, Q, V) class log-probabilities of S episodes' own queries: images (S * k, ...) are the contexts',
  query_images (S * Q, ...) the queries', num_classes (S,) each episode's ways."""
  model = _merged(net, params, batch_stats)
  num_episodes, k = context_labels.shape
  context = model.encode(images, train=False).reshape(num_episodes, k, -1)
  queries = model.encode(query_images, train=False).reshape(num_episodes, -1, context.shape[-1])
  cache = icl_model.context_cache(model, context, perm, context_labels)
  return icl_model.class_log_probs(icl_model.query_id_logits(model, cache, queries), perm, num_classes)
