"""Fine-tuning baselines of NEVIS'22 on a small ResNet: `independent` and `previous`.

Recipe (dm_nevis `finetuning_dknn` scaled down by config): SGD with Nesterov momentum, weight decay on
conv/dense kernels only, linear warmup then cosine decay to 0, adaptive batch size
`min(max_batch, max(min_batch, 2**int(log2(0.0025 * N))))`, random-resized-crop + flip on device, inputs in
[-1, 1]. Per task, one trial per learning rate in `learning_rates`, each trained `num_steps` steps and scored
on dev; the trial with the lowest dev error (ties: lowest dev log-loss) is kept. Dev error is top-1 error,
or 1 - mAP for multi-label tasks (the figure NEVIS reports; dm_nevis selected on Hamming error instead).
A task without dev data trains only `learning_rates[0]`.

`select_by: prequential` instead scores each learning rate by its block-wise prequential code length over
train + dev pooled (`nevis.learners.selection`; chunks from `prequential_first_chunk`), and refits the
winner on all of it. That path writes no in-task checkpoints (a crashed task restarts) and does not
report online prequential scores. Either way `task.notes["selection"]` records the search.

Compilation: the head has `head_outputs(K)` columns (a power of two, at least `head_min_outputs`); columns
past K are masked out of the loss and sliced off in `predict`, and K is an array argument, as are the
learning rate and the schedule's steps. So a stream compiles once per backbone, batch size and head bucket
(the train step), plus once per raw image shape (the cheap preprocessing), never per task or trial.

Randomness: every trial of a task starts from the same initialisation and sees the same batches and
augmentations (common random numbers: trials differ only in their learning rate). All of it is a pure
function of (task key, `seed`, step), so the in-task checkpoint ({trial, step, params, batch_stats,
opt_state, dev_error, dev_log_loss, best}, saved when `task.checkpoint.due(steps done in this task)`)
holds no RNG state, and a resumed task ends bitwise identical to an uninterrupted one on CPU.
With `task.online_prequential` set, the first trial's batches are scored (eval mode) before each update.

Learner state (a pure pytree; task names are keys):
  tasks_seen: int
  heads: {task: {kernel, bias}}                   every task `predict` can answer
  backbones: {task: {params, batch_stats}}         per-task backbones (see `keep_task_backbones`)
  carry: {params, batch_stats} or {}               the backbone the next task starts from (`previous`)
  last_search: {learning_rates, dev_error, dev_log_loss, selected}  the latest task's search
A task is predicted with its own backbone when one is kept, else with `carry` (so `previous` measures
forgetting on past tasks); `independent` keeps only the latest task's model unless `keep_task_backbones`.

Strategies to come (`dynamic_knn`, `pretrained`) subclass `FinetuningLearner` and override
`initial_backbone` (where a task's training starts) and, if needed, `remember` (what state keeps).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from nevis.errors import ConfigError, LearnerError
from nevis.learners import augment, selection
from nevis.learners.resnet import ResNet
from nevis.metrics.classification import mean_log_loss, task_error
from nevis.protocol import InitContext, Learner, PredictionTask, State, TrainingTask
from nevis.registry import register_learner

BATCH_FRACTION = 0.0025  # dm_nevis BatchSizeStrategy.ADAPTIVE
PROGRESS_LOSS_EVERY = 25  # steps between loss read-backs; each one waits for the device

# Independent random streams drawn from one task key.
_INIT_STREAM, _AUGMENT_STREAM, _DATA_STREAM, _HEAD_STREAM = 0, 1, 2, 3

Backbone = dict[str, Any]  # {"params": pure dict, "batch_stats": pure dict}


def head_outputs(num_classes: int, minimum: int = 16) -> int:
  """Width of the padded head: the smallest power of two >= max(num_classes, minimum)."""
  return 1 << (max(num_classes, minimum, 1) - 1).bit_length()


def adaptive_batch_size(num_examples: int, min_batch: int, max_batch: int) -> int:
  """dm_nevis's adaptive batch size: min(max_batch, max(min_batch, 2**int(log2(0.0025 * N))))."""
  scaled = BATCH_FRACTION * num_examples
  power = 2 ** int(math.log2(scaled)) if scaled >= 1 else 1
  return int(min(max_batch, max(min_batch, power)))


def warmup_cosine(step, peak, warmup_steps, total_steps) -> jax.Array:
  """Learning rate at `step`: 0 -> peak linearly over warmup_steps, then cosine to 0 at total_steps."""
  step = jnp.asarray(step, jnp.float32)
  warmup = jnp.asarray(warmup_steps, jnp.float32)
  total = jnp.asarray(total_steps, jnp.float32)
  warm = peak * step / jnp.maximum(warmup, 1.0)
  progress = jnp.clip((step - warmup) / jnp.maximum(total - warmup, 1.0), 0.0, 1.0)
  cosine = peak * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
  return jnp.where(step < warmup, warm, cosine)


def _decay_mask(params) -> Any:
  """Weight decay on convolution and dense kernels only: not on biases or BatchNorm scales."""
  return jax.tree_util.tree_map_with_path(lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


def single_label_loss(logits, labels, num_classes, label_smoothing: float) -> jax.Array:
  """Softmax cross-entropy over the first `num_classes` columns; padded columns get probability 0."""
  valid = jnp.arange(logits.shape[-1]) < num_classes
  log_probs = jax.nn.log_softmax(jnp.where(valid, logits, -jnp.inf), axis=-1)
  log_probs = jnp.where(valid, log_probs, 0.0)  # -inf * 0 would be nan
  one_hot = jax.nn.one_hot(labels, logits.shape[-1])
  targets = (1.0 - label_smoothing) * one_hot + label_smoothing * valid / num_classes
  return -jnp.mean(jnp.sum(targets * log_probs, axis=-1))


def multi_label_loss(logits, labels, num_classes) -> jax.Array:
  """Mean sigmoid binary cross-entropy over examples and the first `num_classes` labels."""
  valid = jnp.arange(logits.shape[-1]) < num_classes
  per_label = optax.sigmoid_binary_cross_entropy(logits, labels.astype(logits.dtype))
  return jnp.sum(jnp.where(valid, per_label, 0.0)) / (logits.shape[0] * num_classes)


def key_words(task_rng) -> list[int]:
  """The task key's raw uint32 words (typed or raw key), read once per task."""
  words = jax.random.key_data(task_rng) if jnp.issubdtype(task_rng.dtype, jax.dtypes.prng_key) else task_rng
  return np.asarray(words, dtype=np.uint32).ravel().tolist()


def stream_key(task_words: list[int], seed: int, *path: int) -> np.ndarray:
  """(4,) uint32 key data for one random stream, hashed on the host from the task's key, seed and path.

  Compiled code then only wraps it as an "unsafe_rbg" key (XLA's RngBitGenerator), whose draws, splits
  and fold-ins compile to no loops: threefry compiles to `while` loops (a burden for FLOP metering) and
  to seconds of XLA:CPU compile time per random op. The streams are deterministic per backend.
  """
  return np.random.SeedSequence([*task_words, seed, *path]).generate_state(4, np.uint32)


def _wrap_key(key_data: jax.Array) -> jax.Array:
  return jax.random.wrap_key_data(key_data, impl="unsafe_rbg")


def common_definitions(tx, image_size: int, feature_dim: int) -> dict[str, tuple[Callable, dict[str, Any]]]:
  """What every fine-tuning learner compiles besides its model: head and optimiser initialisers and the
  on-device preprocessing, as name -> (function, jit keyword arguments)."""

  def head_init(key_data, outputs: int):
    kernel = jax.nn.initializers.lecun_normal()(_wrap_key(key_data), (feature_dim, outputs), jnp.float32)
    return {"kernel": kernel, "bias": jnp.zeros((outputs,), jnp.float32)}

  def optimizer_init(params):
    return jax.tree.leaves(tx.init(params))

  def train_preprocess(key_data, images):
    return augment.train_preprocess(_wrap_key(key_data), images, image_size)

  def eval_preprocess(images):
    return augment.eval_preprocess(images, image_size)

  return {
      "head_init": (head_init, {"static_argnums": (1,)}),
      "optimizer_init": (optimizer_init, {}),
      "train_preprocess": (train_preprocess, {}),
      "eval_preprocess": (eval_preprocess, {}),
  }


class CompiledFunctions:
  """A learner's computations by name, each compiled through a task's metered `jit`. Built once per
  architecture config, so their identity (the jit cache key) is the same for every task and trial."""

  definitions: dict[str, tuple[Callable, dict[str, Any]]]  # name -> (function, jit keyword arguments)

  def get(self, jit, name: str) -> Callable:
    """`name` compiled through `jit`, wrapped once per jit object."""
    compiled = self.__dict__.setdefault("_compiled", {})
    cached = compiled.get(name)
    if cached is None or cached[0] is not jit:
      function, options = self.definitions[name]
      cached = compiled[name] = (jit, jit(function, **options))
    return cached[1]


class _Functions(CompiledFunctions):
  """The fine-tuning learners' computations (ResNet backbone, linear head)."""

  def __init__(self, config: dict[str, Any]):
    width, blocks = config["width"], tuple(config["blocks_per_stage"])
    image_size = config["image_size"]
    label_smoothing = float(config["label_smoothing"])
    abstract = nnx.eval_shape(lambda: ResNet(width=width, blocks_per_stage=blocks, rngs=nnx.Rngs(0)))
    graphdef = nnx.graphdef(abstract)
    feature_dim = abstract.feature_dim
    tx = optax.chain(
        optax.add_decayed_weights(config["weight_decay"], mask=_decay_mask),
        optax.trace(decay=config["momentum"], nesterov=True),
    )

    def logits_of(params, backbone, images, *, train: bool):
      features = backbone(images, train=train)
      return features @ params["head"]["kernel"] + params["head"]["bias"]

    def backbone_init(key_data):
      model = ResNet(width=width, blocks_per_stage=blocks, rngs=nnx.Rngs(_wrap_key(key_data)))
      _, params, batch_stats = nnx.split(model, nnx.Param, nnx.BatchStat)
      return {"params": nnx.to_pure_dict(params), "batch_stats": nnx.to_pure_dict(batch_stats)}

    def make_train_step(multi_label: bool):
      def resnet_train_step(
          params, batch_stats, opt_leaves, augment_key, raw_images, labels,
          num_classes, peak_lr, step, warmup_steps, total_steps,
      ):
        # Augmentation runs inside the step: one dispatch (and one metered call) per step, not two.
        images = augment.train_preprocess(_wrap_key(augment_key), raw_images, image_size)
        opt_state = jax.tree.unflatten(jax.tree.structure(tx.init(params)), opt_leaves)

        def loss_fn(params):
          backbone = nnx.merge(graphdef, params["backbone"], batch_stats)
          logits = logits_of(params, backbone, images, train=True)
          if multi_label:
            loss = multi_label_loss(logits, labels, num_classes)
          else:
            loss = single_label_loss(logits, labels, num_classes, label_smoothing)
          return loss, nnx.to_pure_dict(nnx.state(backbone, nnx.BatchStat))

        (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        learning_rate = warmup_cosine(step, peak_lr, warmup_steps, total_steps)
        params = jax.tree.map(lambda p, u: p - learning_rate * u, params, updates)
        return params, new_stats, jax.tree.leaves(opt_state), loss

      return resnet_train_step

    def resnet_forward(params, batch_stats, images):
      backbone = nnx.merge(graphdef, params["backbone"], batch_stats)
      return logits_of(params, backbone, images, train=False).astype(jnp.float32)

    self.feature_dim = feature_dim
    # name -> (function, jit keyword arguments)
    self.definitions: dict[str, tuple[Callable, dict[str, Any]]] = {
        "backbone_init": (backbone_init, {}),
        **common_definitions(tx, image_size, feature_dim),
        "train_step_single_label": (make_train_step(False), {}),
        "train_step_multi_label": (make_train_step(True), {}),
        "forward": (resnet_forward, {}),
    }


# The config keys the compiled functions depend on (not the seed: keys are hashed on the host). Learners
# that agree on them share functions, hence compilations: a resumed run, or tests building many learners.
_FUNCTION_KEYS = ("width", "blocks_per_stage", "image_size", "label_smoothing", "weight_decay", "momentum")


@functools.cache
def _shared_functions(config_items: tuple) -> _Functions:
  return _Functions(dict(config_items))


def _hashable(value):
  return tuple(value) if isinstance(value, list) else value


class FinetuningLearner(Learner):
  """Per-task fine-tuning with a learning-rate search; subclasses choose where each task starts."""

  defaults = {
      "width": 16,
      "blocks_per_stage": [1, 1, 1],
      "image_size": 32,
      "num_steps": 200,
      "learning_rates": [0.01, 0.1],
      "min_batch": 16,
      "max_batch": 64,
      "eval_batch_size": 128,
      "weight_decay": 1e-4,
      "momentum": 0.9,
      "label_smoothing": 0.0,
      "warmup_fraction": 0.1,
      "head_min_outputs": 16,
      "keep_task_backbones": False,
      "select_by": "dev",
      "prequential_first_chunk": 10,
      "seed": 0,
  }

  def __init__(self, **config):
    super().__init__(**config)
    _validate(type(self).__name__, self.config)
    architecture = tuple(sorted((key, _hashable(self.config[key])) for key in _FUNCTION_KEYS))
    self._functions = _shared_functions(architecture)

  # --- strategy hooks -------------------------------------------------------------------------------

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    """The backbone a task's trials start from; None for a fresh random initialisation."""
    return None

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    """The state after a task: this task's model is kept; older ones only with `keep_task_backbones`."""
    keep_all = self.config["keep_task_backbones"]
    heads = {**state["heads"], task_name: head} if keep_all else {task_name: head}
    backbones = {**state["backbones"], task_name: backbone} if keep_all else {task_name: backbone}
    return {**state, "heads": heads, "backbones": backbones, "carry": {}}

  # --- protocol -------------------------------------------------------------------------------------

  def init(self, ctx: InitContext) -> State:
    return {"tasks_seen": 0, "heads": {}, "backbones": {}, "carry": {}, "last_search": {}}

  def train(self, task: TrainingTask, state: State) -> State:
    if self.config["select_by"] == "prequential":
      return self._train_prequential(task, state)
    config = self.config
    info = task.info
    num_classes, multi_label = info.num_classes, info.multi_label
    outputs = head_outputs(num_classes, config["head_min_outputs"])
    batch_size = adaptive_batch_size(len(task.train), config["min_batch"], config["max_batch"])
    num_steps = config["num_steps"]
    warmup_steps = round(config["warmup_fraction"] * num_steps)
    learning_rates = [float(lr) for lr in config["learning_rates"]]
    if len(task.dev) == 0:
      learning_rates = learning_rates[:1]
    num_trials = len(learning_rates)

    def get(name: str) -> Callable:
      return self._functions.get(task.jit, name)

    train_step = get("train_step_multi_label" if multi_label else "train_step_single_label")
    seed, words = config["seed"], key_words(task.rng)
    data_seed = int(stream_key(words, seed, _DATA_STREAM)[0])
    start = self.initial_backbone(task, state)
    if start is None:
      start = get("backbone_init")(stream_key(words, seed, _INIT_STREAM))
    else:
      start = _to_device(start)
    head = get("head_init")(stream_key(words, seed, _HEAD_STREAM), outputs)
    fresh_params = {"backbone": start["params"], "head": head}
    fresh_stats = start["batch_stats"]

    dev_error = np.full(num_trials, np.nan)
    dev_log_loss = np.full(num_trials, np.nan)
    best: dict[str, Any] = {}
    first_trial, first_step, resumed = 0, 0, None
    saved = task.checkpoint.restore()
    if saved is not None:
      first_trial, first_step = int(saved["trial"]), int(saved["step"])
      dev_error = np.array(saved["dev_error"], dtype=np.float64)
      dev_log_loss = np.array(saved["dev_log_loss"], dtype=np.float64)
      if len(dev_error) != num_trials or first_trial >= num_trials or first_step > num_steps:
        raise LearnerError(
            f"the in-task checkpoint of {info.name!r} does not match this config ({len(dev_error)} trials, "
            f"at trial {first_trial} step {first_step}); resume with the config it was written with"
        )
      best = _to_device(saved["best"]) if saved["best"] else {}
      resumed = saved

    fixed = {
        "num_classes": np.int32(num_classes),
        "warmup_steps": np.int32(warmup_steps),
        "total_steps": np.int32(num_steps),
    }
    for trial in range(first_trial, num_trials):
      learning_rate = learning_rates[trial]
      if resumed is not None and trial == first_trial:
        params, batch_stats = _to_device(resumed["params"]), _to_device(resumed["batch_stats"])
        opt_leaves = [jnp.asarray(leaf) for leaf in _as_list(resumed["opt_state"])]
        start_step = first_step
      else:
        params, batch_stats = fresh_params, fresh_stats
        opt_leaves = get("optimizer_init")(params)
        start_step = 0
      task.progress.start(f"{info.name} lr={learning_rate:g} ({trial + 1}/{num_trials})", total=num_steps)
      if start_step:
        task.progress.update(start_step)
      for step in range(start_step, num_steps):
        batch = task.train.batch_at(step, batch_size, seed=data_seed)
        labels = _padded_labels(batch["labels"], outputs, multi_label)
        if task.online_prequential is not None and trial == 0:
          logits = self._logits(task.jit, params, batch_stats, batch["images"])
          task.online_prequential.record(batch, logits[:, :num_classes])
        params, batch_stats, opt_leaves, loss = train_step(
            params, batch_stats, opt_leaves, stream_key(words, seed, _AUGMENT_STREAM, step), batch["images"],
            labels,
            fixed["num_classes"], np.float32(learning_rate), np.int32(step),
            fixed["warmup_steps"], fixed["total_steps"],
        )
        if (step + 1) % PROGRESS_LOSS_EVERY == 0 or step + 1 == num_steps:
          task.progress.update(1, loss=float(loss))
        else:
          task.progress.update(1)
        if task.checkpoint.due(trial * num_steps + step + 1):
          task.checkpoint.save(jax.device_get({
              "trial": np.int64(trial),
              "step": np.int64(step + 1),
              "params": params,
              "batch_stats": batch_stats,
              "opt_state": list(opt_leaves),
              "dev_error": dev_error,
              "dev_log_loss": dev_log_loss,
              "best": best,
          }))
      task.progress.close()
      if len(task.dev):
        dev_error[trial], dev_log_loss[trial] = self._evaluate(task, params, batch_stats)
      if _best_trial(dev_error, dev_log_loss, trial + 1) == trial:
        best = {"params": params, "batch_stats": batch_stats}

    selected = _best_trial(dev_error, dev_log_loss, num_trials)
    backbone = {"params": best["params"]["backbone"], "batch_stats": best["batch_stats"]}
    state = self.remember(state, info.name, backbone, best["params"]["head"])
    state["tasks_seen"] = int(state["tasks_seen"]) + 1
    state["last_search"] = {
        "learning_rates": np.array(learning_rates, dtype=np.float64),
        "dev_error": dev_error,
        "dev_log_loss": dev_log_loss,
        "selected": int(selected),
    }
    task.notes["selection"] = {
        "select_by": "dev",
        "candidates": [{"learning_rate": lr} for lr in learning_rates],
        "dev_error": [float(e) for e in dev_error],
        "dev_log_loss": [float(e) for e in dev_log_loss],
        "selected": int(selected),
        "chosen": {"learning_rate": learning_rates[selected]},
    }
    return state

  def _train_prequential(self, task: TrainingTask, state: State) -> State:
    """Learning rate chosen by prequential code length over train + dev; the winner refitted on both."""
    config = self.config
    info = task.info
    multi_label = info.multi_label
    outputs = head_outputs(info.num_classes, config["head_min_outputs"])
    num_steps = config["num_steps"]
    warmup_steps = round(config["warmup_fraction"] * num_steps)
    seed, words = config["seed"], key_words(task.rng)
    data_seed = int(stream_key(words, seed, _DATA_STREAM)[0])

    def get(name: str) -> Callable:
      return self._functions.get(task.jit, name)

    train_step = get("train_step_multi_label" if multi_label else "train_step_single_label")
    start = self.initial_backbone(task, state)
    start = get("backbone_init")(stream_key(words, seed, _INIT_STREAM)) if start is None else _to_device(start)
    head = get("head_init")(stream_key(words, seed, _HEAD_STREAM), outputs)
    fresh_params = {"backbone": start["params"], "head": head}

    def fit(candidate: dict, data) -> dict:
      learning_rate = float(candidate["learning_rate"])
      batch_size = adaptive_batch_size(len(data), config["min_batch"], config["max_batch"])
      params, batch_stats = fresh_params, start["batch_stats"]
      opt_leaves = get("optimizer_init")(params)
      task.progress.start(f"{info.name} lr={learning_rate:g} n={len(data)}", total=num_steps)
      for step in range(num_steps):
        batch = data.batch_at(step, batch_size, seed=data_seed)
        params, batch_stats, opt_leaves, _ = train_step(
            params, batch_stats, opt_leaves, stream_key(words, seed, _AUGMENT_STREAM, step), batch["images"],
            _padded_labels(batch["labels"], outputs, multi_label),
            np.int32(info.num_classes), np.float32(learning_rate), np.int32(step),
            np.int32(warmup_steps), np.int32(num_steps),
        )
        task.progress.update(1)
      task.progress.close()
      return {"params": params, "batch_stats": batch_stats}

    def logits(model: dict, data) -> np.ndarray:
      parts = [
          self._logits(task.jit, model["params"], model["batch_stats"], batch["images"])[batch["mask"]]
          for batch in data.ordered_batches(config["eval_batch_size"])
      ]
      return np.concatenate(parts)[:, :info.num_classes]

    candidates = [{"learning_rate": float(lr)} for lr in config["learning_rates"]]
    result = selection.select(
        task, candidates, fit, logits, select_by="prequential", seed=data_seed,
        first_chunk=config["prequential_first_chunk"],
    )
    best = result.model
    backbone = {"params": best["params"]["backbone"], "batch_stats": best["batch_stats"]}
    state = self.remember(state, info.name, backbone, best["params"]["head"])
    state["tasks_seen"] = int(state["tasks_seen"]) + 1
    state["last_search"] = {
        "learning_rates": np.array([c["learning_rate"] for c in candidates], dtype=np.float64),
        "code_length_nats": np.array(result.scores, dtype=np.float64),
        "selected": int(result.selected),
    }
    return state

  def predict(self, task: PredictionTask, state: State, images) -> np.ndarray:
    name = task.info.name
    if name not in state["heads"]:
      raise LearnerError(
          f"{type(self).__name__} has no model for task {name!r}; it keeps past tasks' models only with "
          "`learner.keep_task_backbones: true`"
      )
    backbone = state["backbones"].get(name) or state["carry"]
    params = {"backbone": backbone["params"], "head": state["heads"][name]}
    logits = self._logits(task.jit, params, backbone["batch_stats"], images)
    return logits[:, :task.info.num_classes]

  # --- internals ------------------------------------------------------------------------------------

  def _logits(self, jit, params, batch_stats, images) -> np.ndarray:
    """(B, head outputs) float32 logits of uint8 images, with evaluation preprocessing."""
    inputs = self._functions.get(jit, "eval_preprocess")(np.asarray(images))
    return np.asarray(self._functions.get(jit, "forward")(params, batch_stats, inputs))

  def _evaluate(self, task: TrainingTask, params, batch_stats) -> tuple[float, float]:
    """(dev error, dev mean log-loss in nats) of one trial's model."""
    num_classes = task.info.num_classes
    parts = []
    for batch in task.dev.ordered_batches(self.config["eval_batch_size"]):
      logits = self._logits(task.jit, params, batch_stats, batch["images"])
      parts.append(logits[batch["mask"], :num_classes])
    logits = np.concatenate(parts)
    labels = np.asarray(task.dev.labels)
    multi_label = task.info.multi_label
    error = task_error(logits, labels, multi_label=multi_label)
    return error, mean_log_loss(logits, labels, multi_label=multi_label)


@register_learner("independent")
class IndependentLearner(FinetuningLearner):
  """Every task starts from a fresh random initialisation (NEVIS's "Independent")."""


@register_learner("previous")
class PreviousLearner(FinetuningLearner):
  """Every task starts from the previous task's trained backbone, with a new head (NEVIS's "Previous")."""

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    return state["carry"] or None

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    # Every head is kept: a past task is predicted with the current backbone unless its own is kept.
    backbones = {**state["backbones"], task_name: backbone} if self.config["keep_task_backbones"] else {}
    return {**state, "heads": {**state["heads"], task_name: head}, "backbones": backbones, "carry": backbone}


def _best_trial(dev_error: np.ndarray, dev_log_loss: np.ndarray, num_done: int) -> int:
  """Index of the lowest (dev error, dev log-loss) among the first `num_done` trials; nan counts as worst."""
  error = np.nan_to_num(dev_error[:num_done], nan=np.inf)
  loss = np.nan_to_num(dev_log_loss[:num_done], nan=np.inf)
  return int(np.lexsort((np.arange(num_done), loss, error))[0])


def _padded_labels(labels: np.ndarray, outputs: int, multi_label: bool) -> np.ndarray:
  if not multi_label:
    return np.asarray(labels, dtype=np.int32)
  labels = np.asarray(labels, dtype=np.uint8)
  return np.pad(labels, ((0, 0), (0, outputs - labels.shape[1])))


def _to_device(tree):
  return jax.tree.map(jnp.asarray, tree)


def _as_list(leaves) -> list:
  """A checkpointed list, whichever of list, tuple or {"0": ..} form it comes back in."""
  if isinstance(leaves, dict):
    return [leaves[k] for k in sorted(leaves, key=int)]
  return list(leaves)


def _validate(owner: str, config: dict[str, Any]) -> None:
  def fail(key: str, why: str):
    raise ConfigError(f"{owner}.{key} {why}; got {config[key]!r}")

  if not config["learning_rates"] or not all(
      isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr >= 0 for lr in config["learning_rates"]
  ):
    fail("learning_rates", "must be a non-empty list of numbers >= 0")
  blocks = config["blocks_per_stage"]
  if not blocks or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in blocks):
    fail("blocks_per_stage", "must be a non-empty list of integers >= 1")
  for key in ("width", "num_steps", "min_batch", "max_batch", "eval_batch_size", "head_min_outputs"):
    if config[key] < 1:
      fail(key, "must be >= 1")
  if config["min_batch"] > config["max_batch"]:
    fail("min_batch", f"must be <= max_batch ({config['max_batch']})")
  if config["image_size"] < 2 ** (len(blocks) - 1):
    fail("image_size", f"must be >= {2 ** (len(blocks) - 1)} for {len(blocks)} stages")
  if not 0 <= config["warmup_fraction"] < 1:
    fail("warmup_fraction", "must be in [0, 1)")
  if not 0 <= config["label_smoothing"] < 1:
    fail("label_smoothing", "must be in [0, 1)")
  if config["seed"] < 0:
    fail("seed", "must be >= 0")
  if config["select_by"] not in selection.SELECT_BY:
    fail("select_by", f"must be one of {selection.SELECT_BY}")
  if config["prequential_first_chunk"] < 1:
    fail("prequential_first_chunk", "must be >= 1")
  if config["weight_decay"] < 0:
    fail("weight_decay", "must be >= 0")
  if not 0 <= config["momentum"] < 1:
    fail("momentum", "must be in [0, 1)")
