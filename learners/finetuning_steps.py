"""The fine-tuning learners' compiled computations: a ResNet backbone and a linear head.

Module-level functions whose first argument is the `Network`; `functions(...)` binds them once per
architecture, so learners that agree on it (a resumed run, tests building many learners) share compilations.
K, the learning rate, label smoothing, schedule, crop size and flip probability are array arguments of the
train step: a stream compiles it once per backbone, batch size and head bucket.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from nevis.learners import augment, toolkit
from nevis.learners.resnet import ResNet
from nevis.learners.toolkit import Network, bind, wrap_key

FINAL_LEARNING_RATE = 1e-8  # dm_nevis warmup_cosine_decay's final_learning_rate


def build_resnet(width: int, blocks_per_stage: tuple[int, ...], stem: str, rngs: nnx.Rngs,
                 compute_dtype: str = "float32", cpu_convolutions: str = "xla") -> ResNet:
  return ResNet(width=width, blocks_per_stage=tuple(blocks_per_stage), stem=stem, dtype=jnp.dtype(compute_dtype),
                convolutions=cpu_convolutions, rngs=rngs)


def decay_mask(params) -> Any:
  """Weight decay on convolution and dense kernels only: not on biases or BatchNorm scales."""
  return jax.tree_util.tree_map_with_path(lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


@functools.cache
def functions(width: int, blocks_per_stage: tuple[int, ...], stem: str, image_size: int, weight_decay: float,
              momentum: float, compute_dtype: str = "float32",
              cpu_convolutions: str = "xla") -> toolkit.CompiledFunctions:
  """The compiled functions of one architecture (the seed is not part of it: keys are hashed on the host)."""
  architecture = functools.partial(build_resnet, width, blocks_per_stage, stem, compute_dtype=compute_dtype,
                                   cpu_convolutions=cpu_convolutions)
  abstract = nnx.eval_shape(lambda: architecture(nnx.Rngs(0)))
  tx = optax.chain(
      optax.add_decayed_weights(weight_decay, mask=decay_mask),
      optax.trace(decay=momentum, nesterov=True),
  )
  net = Network(nnx.graphdef(abstract), tx, image_size, abstract.feature_dim)
  return toolkit.CompiledFunctions(net, {
      "backbone_init": (bind(backbone_init, net, architecture), {}),
      **toolkit.common_definitions(net),
      "train_step_single_label": (bind(resnet_train_step, net, False), {}),
      "train_step_multi_label": (bind(resnet_train_step, net, True), {}),
      "forward": (bind(resnet_forward, net), {}),
  })


def backbone_init(net: Network, architecture, key_data):
  _, params, batch_stats = nnx.split(architecture(nnx.Rngs(wrap_key(key_data))), nnx.Param, nnx.BatchStat)
  return {"params": nnx.to_pure_dict(params), "batch_stats": nnx.to_pure_dict(batch_stats)}


def logits_of(params, backbone, images, *, train: bool):
  features = backbone(images, train=train)
  return features @ params["head"]["kernel"] + params["head"]["bias"]


def resnet_train_step(net: Network, multi_label: bool, params, batch_stats, opt_leaves, augment_key, raw_images,
                      labels, num_classes, peak_lr, label_smoothing, step, warmup_steps, total_steps, min_area,
                      flip_probability):
  # Augmentation runs inside the step: one dispatch (and one metered call) per step, not two.
  images = augment.train_preprocess(wrap_key(augment_key), raw_images, net.image_size, min_area, flip_probability)
  opt_state = toolkit.optimizer_state(net.tx, params, opt_leaves)

  def loss_fn(params):
    backbone = nnx.merge(net.graphdef, params["backbone"], batch_stats)
    logits = logits_of(params, backbone, images, train=True)
    loss = toolkit.loss(logits, labels, num_classes, label_smoothing, multi_label=multi_label)
    return loss, nnx.to_pure_dict(nnx.state(backbone, nnx.BatchStat))

  (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
  params, opt_state = toolkit.scheduled_update(net.tx, params, grads, opt_state, step, peak_lr, warmup_steps,
                                               total_steps, final_lr=FINAL_LEARNING_RATE)
  return params, new_stats, jax.tree.leaves(opt_state), loss


def resnet_forward(net: Network, params, batch_stats, images):
  backbone = nnx.merge(net.graphdef, params["backbone"], batch_stats)
  return logits_of(params, backbone, images, train=False).astype(jnp.float32)
