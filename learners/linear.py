"""`linear`: softmax regression on downscaled pixels — the cheapest trained point of the trade-off.

Per task: each image's central square is resized to `image_size` (antialiased), RGB in [-1, 1],
flattened (once per image) and standardised with the training set's per-pixel mean and standard
deviation. A linear
layer is trained from zero by Adam on minibatches of `batch_size` (softmax cross-entropy, or sigmoid
cross-entropy for multi-label tasks, plus `l2` * |W|^2), with the learning rate decayed by a cosine over
`num_steps`. One trial per entry of `l2_values` (same batches for all), chosen on dev (lowest dev error,
ties: dev log-loss); without dev data the first value is used. Every statistic, step and prediction runs
through `task.jit`: its FLOPs are metered like any learner's.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nevis.learners import augment, toolkit
from nevis.learners.selection import lowest
from nevis.learners.toolkit import derive_key, head_outputs, key_words, map_batches, padded_labels
from nevis.metrics.classification import mean_log_loss, task_error
from nevis.options import Options, option
from nevis.protocol import InitContext, Learner, PredictionTask, State, TrainingTask
from nevis.registry import register_learner

_DATA_KEY = 0  # the path of the only key this learner draws (`toolkit.derive_key`)
_OPTIMIZER = optax.scale_by_adam()


@functools.cache
def _functions(image_size: int):
  def linear_features(images):
    return augment.eval_preprocess(images, image_size).reshape(images.shape[0], -1)

  def linear_moments(features):
    """Per-pixel mean and variance over the training set: the standardisation's statistics."""
    return jnp.mean(features, 0), jnp.var(features, 0)

  def logits_of(params, features, mean, scale):
    return ((features - mean) * scale) @ params["kernel"] + params["bias"]

  def linear_train_step(params, opt_state, features, labels, mean, scale, num_classes, peak_lr, l2, step, total,
                        *, multi_label: bool):
    def loss_fn(params):
      logits = logits_of(params, features, mean, scale)
      loss = toolkit.loss(logits, labels, num_classes, 0.0, multi_label=multi_label)
      return loss + l2 * jnp.sum(params["kernel"] ** 2)

    grads = jax.grad(loss_fn)(params)
    return toolkit.scheduled_update(_OPTIMIZER, params, grads, opt_state, step, peak_lr, 0, total)

  def linear_forward(params, features, mean, scale):
    return logits_of(params, features, mean, scale)

  return linear_features, linear_moments, linear_train_step, linear_forward


@dataclasses.dataclass(frozen=True)
class LinearConfig(Options):
  image_size: int = option(16, "side of the downscaled images, in pixels", minimum=1)
  num_steps: int = option(300, "Adam steps per trial", minimum=1)
  batch_size: int = option(128, "training batch", minimum=1)
  learning_rate: float = option(0.01, "peak learning rate (cosine decay to 0)", minimum=0)
  l2_values: tuple[float, ...] = option((1e-4, 1e-3, 1e-2), "L2 strengths, one trial each, chosen on dev", minimum=0)
  eval_batch_size: int = option(128, "images per call when computing features and logits", minimum=1)
  head_min_outputs: int = option(16, "the head's fewest outputs (a power of two): one compilation for many tasks",
                                 minimum=1)
  seed: int = option(0, "seed of the batch order", minimum=0)

  def check(self):
    if not self.l2_values:
      self.fail("l2_values", "must hold at least one value")
    if self.learning_rate <= 0:
      self.fail("learning_rate", "must be > 0")


@register_learner("linear")
class LinearLearner(Learner):
  """Softmax regression on standardised downscaled pixels, L2 strength chosen on dev."""

  Config = LinearConfig

  def init(self, ctx: InitContext) -> State:
    return {"models": {}}

  def _features(self, jit, images) -> np.ndarray:
    """(N, image_size**2 * 3) float32 pixels of uint8 images, computed once per image."""
    features = jit(_functions(self.config.image_size)[0])
    return map_batches(features, np.asarray(images), self.config.eval_batch_size)

  def _logits(self, jit, model, features) -> np.ndarray:
    forward = jit(_functions(self.config.image_size)[3])
    return map_batches(lambda chunk: forward(model["params"], chunk, model["mean"], model["scale"]), features,
                       self.config.eval_batch_size)

  def train(self, task: TrainingTask, state: State) -> State:
    c, info = self.config, task.info
    _, moments, step_fn, _ = _functions(c.image_size)
    step_fn = task.jit(step_fn, static_argnames="multi_label")
    # The pixels of every training image once, rather than again in every step that draws it.
    train_features = self._features(task.jit, task.train.images)
    mean, variance = (np.asarray(v) for v in task.jit(moments)(train_features))
    scale = (1.0 / np.sqrt(variance + 1e-2)).astype(np.float32)  # the floor keeps flat pixels finite
    outputs = head_outputs(info.num_classes, c.head_min_outputs)
    data_seed = int(derive_key(key_words(task.rng), c.seed, _DATA_KEY)[0])
    l2_values = [float(v) for v in c.l2_values] if len(task.dev) else [float(c.l2_values[0])]
    dev_features = self._features(task.jit, task.dev.images) if len(task.dev) else None
    errors, losses, models = [], [], []
    for l2 in l2_values:
      params = {"kernel": np.zeros((mean.shape[0], outputs), np.float32), "bias": np.zeros((outputs,), np.float32)}
      opt_state = _OPTIMIZER.init(params)
      for step in range(c.num_steps):
        batch = task.train.batch_at(step, c.batch_size, seed=data_seed)
        labels = padded_labels(batch["labels"], outputs, info.multi_label)
        params, opt_state = step_fn(
            params, opt_state, train_features[batch["index"]], labels, mean, scale, np.int32(info.num_classes),
            np.float32(c.learning_rate), np.float32(l2), np.int32(step), np.int32(c.num_steps),
            multi_label=info.multi_label,
        )
      model = {"params": params, "mean": mean, "scale": scale}
      models.append(model)
      if dev_features is not None:
        logits = self._logits(task.jit, model, dev_features)[:, :info.num_classes]
        dev_labels = np.asarray(task.dev.labels)
        errors.append(task_error(logits, dev_labels, multi_label=info.multi_label))
        losses.append(mean_log_loss(logits, dev_labels, multi_label=info.multi_label))
    selected = lowest(errors, losses) if errors else 0
    task.notes["selection"] = {"select_by": "dev", "candidates": [{"l2": v} for v in l2_values],
                               "dev_error": [float(e) for e in errors], "selected": selected,
                               "chosen": {"l2": l2_values[selected]}}
    model = jax.tree.map(np.asarray, models[selected])
    return {"models": {**state["models"], info.name: model}}

  def predict(self, task: PredictionTask, state: State, images) -> np.ndarray:
    model = state["models"][task.info.name]
    return self._logits(task.jit, model, self._features(task.jit, images))[:, :task.info.num_classes]
