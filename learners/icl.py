"""`icl`: an in-context learner over images, optionally fine-tuned per task (ICL+FT, Bornschein et al. 2025).

Network (`nevis.learners.icl_model`): encoder (config `encoder`: the ResNet of the fine-tuning baselines or
the ViT encoder of `nevis.learners.nn`) -> one token per example = image features + embedding of its label
id (queries get the NO_LABEL id); a causal sequence model (config `sequence`: mixer softmax | fox | fox_pro
| lru, mlp dense | peer, passed to `build_sequence_model`) reads k context tokens, and each query is one
more token after them; its output gives logits over the `label_vocab` ids. Class-to-id assignments are a
fresh random permutation per prompt in training and per sampled context at prediction.

Modes (config `mode`); weights always carry over from task to task:
  icl_only  no weight update. `train` samples `eval_contexts` balanced contexts of `context_size` examples
            from the task's training data, runs them through the model (metered: the prefix caches and the
            dev error, recorded in notes), and keeps them in state. Parameters are bitwise unchanged.
  ft_only   fine-tune encoder + a per-task linear head on plain batches (no context), as `previous`.
  icl_ft    fine-tune the whole network on prompts of `context_size` context + `queries_per_prompt` query
            examples (`prompts_per_step` prompts per step) drawn from the task's data, then predict with
            contexts drawn from it.
  meta_pretrain  train the whole network on N-way episodes of the task's many classes, then predict as
            icl_only does (`nevis.learners.icl_pretraining`): a pretraining run whose final model later runs
            start from with `init_from: WORKDIR` (its architecture must match; its training FLOPs are
            recorded as their pretraining compute).
Prediction runs each stored context once (prefix cache, memoised per task and weights) and scores every
query as an independent one-token continuation; class log-probabilities are averaged (as a mixture) over
the `eval_contexts` sampled contexts.

Tasks the prompt format cannot express (documented rule, not an error):
  * multi-label tasks, and single-label tasks with more classes than `label_vocab`, take the head route:
    in ft_only and icl_ft they are fine-tuned as encoder + linear head (sigmoid head for multi-label, as
    the fine-tuning baselines); in icl_only, where no weight may change, they take the prototype route:
    class means of the encoder's features of the training data (multi-label: a positive and a negative
    mean per label), scored as logit_c = -|f - mu_c|^2 (multi-label: |f - mu_neg|^2 - |f - mu_pos|^2),
    with features scaled to unit norm.

Hyperparameter search: one candidate per entry of `learning_rates`, selected by `select_by` (dev error or
prequential code length over train + dev; `nevis.learners.selection`); every candidate's compute runs
through `task.jit`. icl_only has nothing to select.

Randomness is host-side (`stream_key` of the task key, `seed` and a path), wrapped as unsafe_rbg keys in
compiled code, as in `nevis.learners.finetuning`. A run starts from a fresh initialisation or from
`init_from`'s model; a learner reads no data but what its tasks hand it (meta-pretraining is a run of its
own). Training images are cropped (`min_crop_area`) and flipped (`flip`) as the fine-tuning baselines do.

State (pure pytree): {model: {params, batch_stats}, tasks: {name: {route, ...}}, tasks_seen, architecture
(JSON of the shape-setting options, read by `init_from`)}. No online
prequential scores: use `prequential: blockwise`.

In-task checkpoints (ft_only and icl_ft with `select_by: dev`): when `task.checkpoint.due(steps done in
this task, over all candidates)`, the step loop saves {route, candidate, step, params, batch_stats,
opt_leaves, head (head route), dev_error, dev_log_loss, best}: the loop of the candidate being fitted and
the dev search so far (`selection.DevProgress`; `best` without its DataView, which is re-attached on
restore). A restored task skips the scored candidates and continues the current one from its step; step
randomness is a pure function of (task key, `seed`, step), so it ends bitwise as an uninterrupted run. A
checkpoint that does not fit the config is a LearnerError. `select_by: prequential` writes none (a task
interrupted by a crash restarts); icl_only trains nothing and needs none.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from nevis.errors import ConfigError, LearnerError
from nevis.learners import icl_loop, icl_pretraining, icl_steps, selection
from nevis.learners.augment import flips
from nevis.learners.icl_config import IclConfig
from nevis.learners.icl_loop import AfterStep
from nevis.learners.icl_prompts import balanced_context, random_assignment
from nevis.learners.icl_prototypes import masked_means, prototype_logits
from nevis.learners.toolkit import Purpose, derive_key, head_outputs, key_words, same_shapes, to_device
from nevis.metrics.classification import mean_log_loss, task_error
from nevis.protocol import DataView, InitContext, Learner, PredictionTask, State, TrainingTask, registered_name
from nevis.registry import register_learner

ROUTES = ("icl", "head", "prototype")
TUNED_MODES = ("ft_only", "icl_ft")  # the modes that fine-tune on each task's own data  # kept in state by index: checkpoints hold arrays and numbers


# --- the learner ------------------------------------------------------------------------------------


@register_learner("icl")
class IclLearner(Learner):
  """In-context learner over images with modes icl_only | ft_only | icl_ft | meta_pretrain (see module docstring)."""

  Config = IclConfig

  def __init__(self, **options):
    super().__init__(**options)
    try:
      self._functions = icl_steps.functions(self.config)
    except (TypeError, ValueError) as error:  # the layers' own checks, e.g. of the free-form `peer` options
      raise ConfigError(f"{registered_name(type(self))}: bad architecture options: {error}") from error
    self._prefix_memo: dict[str, tuple[Any, Any]] = {}
    # The artefact of `init_from`, read (and checked against this architecture) before any run starts.
    self._pretrained = icl_pretraining.load_model(self.config) if self.config.init_from else None

  # --- routing ----------------------------------------------------------------------------------------

  def route(self, info) -> str:
    """'icl' (prompts), 'head' (encoder + linear head) or 'prototype' (class means; icl_only only)."""
    fits_prompts = not info.multi_label and info.num_classes <= self.config.label_vocab
    if self.config.mode == "ft_only":
      return "head"
    if fits_prompts:
      return "icl"
    return "head" if self.config.mode in TUNED_MODES else "prototype"

  # --- protocol ---------------------------------------------------------------------------------------

  def init(self, ctx: InitContext) -> State:
    if self._pretrained is not None:
      model = self._pretrained
    else:
      model = self._fn(ctx.jit, "model_init")(derive_key(key_words(ctx.rng), self.config.seed, Purpose.INIT))
    return {"model": model, "tasks": {}, "tasks_seen": 0, "architecture": icl_pretraining.architecture(self.config)}

  def starts_from(self) -> tuple[str, ...]:
    return (self.config.init_from,) if self.config.init_from else ()

  def train(self, task: TrainingTask, state: State) -> State:
    info = task.info
    route = self.route(info)
    model = to_device(state["model"])
    words = key_words(task.rng)
    task.notes.update({"mode": self.config.mode, "route": route})
    if self.config.mode == "meta_pretrain":
      model = icl_pretraining.meta_pretrain(self.config, lambda name: self._fn(task.jit, name), task, model, words,
                                            self.augmentation(info))
    if route == "prototype":
      entry = self._prototypes(task.jit, model, task.train, info.multi_label)
    elif self.config.mode in ("icl_only", "meta_pretrain"):
      entry = self._contexts(task.train, words)
      self._remember_prefix(task.jit, info.name, model, entry)  # the honest work of icl_only
      if len(task.dev):
        dev_logits = self._icl_logits(task.jit, model, entry, task.dev, info.num_classes, info.name)
        task.notes["dev_error"] = float(task_error(dev_logits, task.dev.labels, multi_label=False))
        task.notes["dev_log_loss"] = float(mean_log_loss(dev_logits, task.dev.labels, multi_label=False))
    else:
      model, entry = self._fine_tune(task, model, route, words)
    tasks = {**state["tasks"], info.name: {"route": ROUTES.index(route), **entry}}
    return {**state, "model": model, "tasks": tasks, "tasks_seen": int(state["tasks_seen"]) + 1}

  def predict(self, task: PredictionTask, state: State, images) -> np.ndarray:
    info = task.info
    entry = state["tasks"].get(info.name)
    if entry is None:
      raise LearnerError(f"{type(self).__name__} has not trained on task {info.name!r}")
    model = state["model"]
    route = ROUTES[int(entry["route"])]
    if route == "head":
      logits = self._fn(task.jit, "head_forward")(
          model["params"], model["batch_stats"], entry["head"], self._eval_images(task.jit, images))
      return np.asarray(logits)[:, :info.num_classes]
    if route == "prototype":
      features = self._features(task.jit, model, images)
      return prototype_logits(features, entry, info.multi_label)
    cache = self._remember_prefix(task.jit, info.name, model, entry)
    log_probs = self._fn(task.jit, "score")(
        model["params"], model["batch_stats"], cache, self._eval_images(task.jit, images),
        np.asarray(entry["perm"], np.int32), np.int32(info.num_classes))
    return np.asarray(log_probs)[:, :info.num_classes]

  # --- fine-tuning with a hyperparameter search --------------------------------------------------------

  def _fine_tune(self, task: TrainingTask, start: dict, route: str, words: list[int]) -> tuple[dict, dict]:
    config, info = self.config, task.info
    jit = task.jit
    steps = config.num_steps
    outputs = head_outputs(info.num_classes)
    head = self._fn(jit, "head_init")(derive_key(words, config.seed, Purpose.HEAD), outputs) \
        if route == "head" else None
    candidates = [{"learning_rate": float(lr)} for lr in config.learning_rates]
    num_candidates = len(candidates) if len(task.dev) else 1  # as selection.select_by_dev
    checkpointed = config.select_by == "dev"  # a prequential search restarts with its task
    augmentation = self.augmentation(info)
    saved = task.checkpoint.restore() if checkpointed else None
    searched = selection.DevProgress()
    if saved is not None:
      searched = self._restored_search(saved, task, start, head, route, num_candidates)
    resume = saved  # the loop of candidate len(searched.dev_error) continues from it

    def remember(progress: selection.DevProgress) -> None:
      nonlocal searched
      searched = progress

    def save_if_due(loop: dict) -> None:
      index = len(searched.dev_error)
      if not task.checkpoint.due(index * steps + loop["step"]):
        return
      best = {key: value for key, value in (searched.best or {}).items() if key != "data"}
      task.checkpoint.save(jax.device_get({
          "route": np.int64(ROUTES.index(route)),
          "candidate": np.int64(index),
          **{key: value for key, value in loop.items() if key != "loss"},
          "dev_error": _padded(searched.dev_error, num_candidates),
          "dev_log_loss": _padded(searched.dev_log_loss, num_candidates),
          "best": best,
      }))

    def fit(candidate: dict, data: DataView) -> dict:
      nonlocal resume
      loop, resume = resume, None  # only the first fit after a restore continues a saved loop
      learning_rate = float(candidate["learning_rate"])
      task.progress.start(f"{info.name} {route} lr={learning_rate:g} n={len(data)}", total=steps)
      if loop is not None:
        task.progress.update(int(loop["step"]))
      after_step = save_if_due if checkpointed else None
      if route == "icl":
        fitted = self._fit_prompts(jit, start, data, learning_rate, words, augmentation, task.progress, loop,
                                   after_step)
      else:
        fitted = self._fit_head(jit, start, head, data, learning_rate, words, augmentation, task.progress, loop,
                                after_step)
      task.progress.close()
      return {**fitted, "data": data}

    def logits(fitted: dict, data: DataView) -> np.ndarray:
      if route == "head":
        forward = self._fn(jit, "head_forward")
        parts = [np.asarray(forward(fitted["params"], fitted["batch_stats"], fitted["head"],
                                    self._eval_images(jit, batch["images"])))[batch["mask"]]
                 for batch in data.ordered_batches(config.eval_batch_size)]
        return np.concatenate(parts)[:, :info.num_classes]
      entry = self._contexts(fitted["data"], words)
      return self._icl_logits(jit, fitted, entry, data, info.num_classes, None)

    result = selection.select(
        task, candidates, fit, logits, select_by=config.select_by,
        seed=int(derive_key(words, config.seed, Purpose.CONTEXT)[0]), first_chunk=config.prequential_first_chunk,
        resume=searched if checkpointed else None, on_candidate=remember if checkpointed else None,
    )
    fitted = result.model
    model = {"params": fitted["params"], "batch_stats": fitted["batch_stats"]}
    entry = {"head": fitted["head"]} if route == "head" else self._contexts(result.data, words)
    return model, entry

  def _fit_prompts(self, jit, start: dict, data: DataView, learning_rate: float, words, augmentation, progress,
                   resume: dict | None = None, after_step: AfterStep | None = None) -> dict:
    c = self.config
    draw = icl_loop.task_prompts(np.asarray(data.labels), data.num_classes, c.context_size, c.queries_per_prompt,
                                 c.prompts_per_step, c.label_vocab)
    schedule = icl_loop.Schedule(c.num_steps, learning_rate, round(c.warmup_fraction * c.num_steps))
    return icl_loop.prompt_steps(lambda name: self._fn(jit, name), start, data.images, draw, schedule,
                                 (words, c.seed, Purpose.DATA), augmentation, progress, resume, after_step)

  def _fit_head(self, jit, start: dict, head: dict, data: DataView, learning_rate: float, words, augmentation, progress,
                resume: dict | None = None, after_step: AfterStep | None = None) -> dict:
    config = self.config
    multi_label, num_classes = data.multi_label, data.num_classes
    outputs = head["bias"].shape[0]
    steps = config.num_steps
    warmup_steps = round(config.warmup_fraction * steps)
    step_fn = self._fn(jit, "head_train_step_multi_label" if multi_label else "head_train_step_single_label")
    preprocess = self._fn(jit, "train_preprocess")
    augmentation = [np.float32(x) for x in augmentation]
    if resume is None:
      params, batch_stats, first = start["params"], start["batch_stats"], 0
      opt_leaves = self._fn(jit, "optimizer_init")({"encoder": params["encoder"], "head": head})
    else:
      params, batch_stats, opt_leaves, first = icl_loop.saved_loop(resume)
      head = to_device(resume["head"])
    data_seed = int(derive_key(words, config.seed, Purpose.DATA)[0])
    for step in range(first, steps):
      batch = data.batch_at(step, config.batch_size, seed=data_seed)
      labels = np.asarray(batch["labels"])
      labels = (np.pad(labels.astype(np.uint8), ((0, 0), (0, outputs - labels.shape[1]))) if multi_label
                else labels.astype(np.int32))
      inputs = preprocess(derive_key(words, config.seed, Purpose.AUGMENT, step), batch["images"], *augmentation)
      params, batch_stats, head, opt_leaves, _ = step_fn(
          params, batch_stats, head, opt_leaves, inputs, labels, np.int32(num_classes),
          np.float32(learning_rate), np.int32(step), np.int32(warmup_steps), np.int32(steps))
      progress.update(1)
      if after_step is not None:
        after_step({"step": step + 1, "params": params, "batch_stats": batch_stats, "opt_leaves": opt_leaves,
                    "head": head})
    return {"params": params, "batch_stats": batch_stats, "head": head}

  def _restored_search(self, saved: dict, task: TrainingTask, start: dict, head: dict | None, route: str,
                       num_candidates: int) -> selection.DevProgress:
    """The dev search an in-task checkpoint holds, once it is known to come from this config."""
    expected = {"params": start["params"], "batch_stats": start["batch_stats"]}
    if head is not None:
      expected["head"] = head
    keys = ("route", "candidate", "step", "opt_leaves", "dev_error", "dev_log_loss", "best", *expected)
    index, step = int(saved.get("candidate", -1)), int(saved.get("step", -1))
    fits = (all(key in saved for key in keys) and int(saved["route"]) == ROUTES.index(route)
            and np.shape(saved["dev_error"]) == (num_candidates,) and 0 <= index < num_candidates
            and 0 <= step <= self.config.num_steps and same_shapes({key: saved[key] for key in expected}, expected))
    if not fits:
      found = {key: np.asarray(saved[key]).tolist() for key in ("route", "candidate", "step") if key in saved}
      raise LearnerError(
          f"the in-task checkpoint of {task.info.name!r} does not match this config (route {route!r}, "
          f"{num_candidates} candidates, {self.config.num_steps} steps; saved {found}); resume with the "
          "config it was written with"
      )
    if index == 0:
      return selection.DevProgress()
    best = to_device(saved["best"])
    if route == "icl":
      best["data"] = task.train  # a dev search fits every candidate on the task's train split
    return selection.DevProgress([float(e) for e in np.asarray(saved["dev_error"])[:index]],
                                 [float(e) for e in np.asarray(saved["dev_log_loss"])[:index]], best)

  # --- contexts and prototypes -------------------------------------------------------------------------

  def _contexts(self, data: DataView, words) -> dict:
    """`eval_contexts` balanced contexts from `data`, each with its own random class-to-id assignment."""
    config = self.config
    rng = np.random.default_rng(derive_key(words, config.seed, Purpose.CONTEXT, len(data)))
    labels = np.asarray(data.labels)
    index = np.stack([balanced_context(np.arange(len(data)), labels, config.context_size, rng)
                      for _ in range(config.eval_contexts)])
    perm = np.stack([random_assignment(config.label_vocab, rng) for _ in range(config.eval_contexts)])
    return {"images": np.asarray(data.images)[index], "labels": labels[index].astype(np.int32), "perm": perm}

  def _context_cache(self, jit, model: dict, entry: dict):
    images = np.asarray(entry["images"])
    flat = images.reshape((-1,) + images.shape[2:])
    return self._fn(jit, "context_cache")(
        model["params"], model["batch_stats"], self._eval_images(jit, flat),
        np.asarray(entry["perm"], np.int32), np.asarray(entry["labels"], np.int32))

  def _remember_prefix(self, jit, name: str, model: dict, entry: dict):
    """The task's prefix cache under `model`, computed once per (task, weights object)."""
    anchor = jax.tree.leaves(model["params"])[0]
    memo = self._prefix_memo.get(name)
    if memo is not None and memo[0] is anchor and memo[2] is entry:
      return memo[1]
    cache = self._context_cache(jit, model, entry)
    self._prefix_memo[name] = (anchor, cache, entry)
    return cache

  def _icl_logits(self, jit, model: dict, entry: dict, data: DataView, num_classes: int, name) -> np.ndarray:
    cache = self._remember_prefix(jit, name, model, entry) if name else self._context_cache(jit, model, entry)
    score = self._fn(jit, "score")
    perm = np.asarray(entry["perm"], np.int32)
    parts = []
    for batch in data.ordered_batches(self.config.eval_batch_size):
      log_probs = score(model["params"], model["batch_stats"], cache, self._eval_images(jit, batch["images"]),
                        perm, np.int32(num_classes))
      parts.append(np.asarray(log_probs)[batch["mask"], :num_classes])
    return np.concatenate(parts)

  def _prototypes(self, jit, model: dict, data: DataView, multi_label: bool) -> dict:
    features = np.concatenate([
        self._features(jit, model, batch["images"])[batch["mask"]]
        for batch in data.ordered_batches(self.config.eval_batch_size)
    ])
    labels = np.asarray(data.labels)
    if multi_label:
      positive = labels.astype(bool)
      return {"positive": masked_means(features, positive), "negative": masked_means(features, ~positive)}
    one_hot = labels[:, None] == np.arange(data.num_classes)[None]
    return {"means": masked_means(features, one_hot)}

  def _features(self, jit, model: dict, images) -> np.ndarray:
    features = np.asarray(self._fn(jit, "features")(model["params"], model["batch_stats"],
                                                    self._eval_images(jit, images)))
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-6)

  # --- small helpers ---------------------------------------------------------------------------------

  def augmentation(self, info) -> tuple[float, float]:
    """(smallest crop area, flip probability) of the training images of the task `info`."""
    return self.config.min_crop_area, 0.5 if flips(info, self.config.flip) else 0.0

  def _fn(self, jit, name: str) -> Callable:
    return self._functions.get(jit, name)

  def _eval_images(self, jit, images) -> jax.Array:
    return self._fn(jit, "eval_preprocess")(np.asarray(images))


def _padded(values: list[float], length: int) -> np.ndarray:
  return np.array(list(values) + [np.nan] * (length - len(values)), dtype=np.float64)
