"""Fine-tuning baselines of NEVIS'22 on a ResNet: `independent` and `previous`.

Recipe (dm_nevis `finetuning_*`, scaled by config; `README.md` "Recipes" compares them): SGD with Nesterov
momentum, weight decay on conv/dense kernels only, linear warm-up (`warmup_epochs`, dm_nevis's 7 epochs,
or `warmup_fraction` of the steps) then cosine decay to 1e-8, adaptive batch size
`min(max_batch, max(min_batch, 2**int(log2(0.0025 * N))))`, inputs in [-1, 1]. Augmentation on device
(`augment.py`): random-resized crops of at least `min_crop_area` of the image, and left-right flips by the
`flip` policy (`auto`: never for tasks a mirror image changes, such as digits). A trial trains
`num_steps` steps, or with `num_epochs` > 0 that many epochs but at least `min_steps`, at most `num_steps`.
The defaults are the `mini` recipe (README "Recipes"); the NEVIS'22 configs in `experiments/` set dm_nevis's.

Per task, the trials are `learning_rates` with `label_smoothing` (`search: grid`) or dm_nevis's random
search (`search: random`: `num_trials` draws of learning rate x label smoothing, seeded by the task index).
Dev is checked every `eval_every_steps` steps and after the last; each trial keeps its best dev check and
is scored by it (`trial_score: best`) or by its last (`final`, dm_nevis); the winner's kept checkpoint is
the task's model (`finetune_search.py`, which also holds the in-task checkpoints). Dev error is top-1
error, or 1 - mAP for multi-label tasks (the figure NEVIS reports; dm_nevis selected on Hamming error).

`select_by: prequential` instead scores each candidate by its block-wise prequential code length over
train + dev pooled (`nevis.learners.selection`), and refits the winner on all of it; that path writes no
in-task checkpoints (a crashed task restarts). Either way `task.notes["selection"]` records the search.

Compilation: the head has `head_outputs(K)` columns (a power of two, at least `head_min_outputs`); columns
past K are masked out of the loss and sliced off in `predict`. K, the learning rate, label smoothing,
schedule, crop size and flip probability are array arguments, so a stream compiles once per backbone,
batch size and head bucket (the train step), plus once per raw image shape, never per task or trial.

Randomness: every trial of a task starts from the same initialisation and sees the same batches and
augmentations (common random numbers). All of it is a pure function of (task key, `seed`, step), so
in-task checkpoints hold no RNG state and a resumed task ends bitwise identical on CPU.

Learner state (a pure pytree; task names are keys):
  tasks_seen: int
  heads: {task: {kernel, bias}}                   every task `predict` can answer
  backbones: {task: {params, batch_stats}}         per-task backbones (see `keep_task_backbones`)
  carry: {params, batch_stats} or {}               the backbone the next task starts from (`previous`)
  last_search: {learning_rates, label_smoothing, dev_error, dev_log_loss, selected}  the latest search
A task is predicted with its own backbone when one is kept, else with `carry` (so `previous` measures
forgetting on past tasks); `independent` keeps only the latest task's model unless `keep_task_backbones`.

Strategies (`dynamic_knn`, `pretrained`) subclass `FinetuningLearner` and override `initial_backbone`
(where a task's training starts) and, if needed, `remember` (what state keeps).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nevis.errors import ConfigError, LearnerError
from nevis.learners import augment, cpu_convolutions, finetune_search, finetuning_steps, recipe
from nevis.learners.recipe import FinetuningConfig, adaptive_batch_size
from nevis.learners.toolkit import Purpose, derive_key, head_outputs, key_words, map_batches, to_device
from nevis.metrics.classification import mean_log_loss, task_error
from nevis.protocol import InitContext, Learner, PredictionTask, State, TrainingTask
from nevis.registry import register_learner

Backbone = dict[str, Any]  # {"params": pure dict, "batch_stats": pure dict}


class FinetuningLearner(Learner):
  """Per-task fine-tuning with a hyper-parameter search; subclasses choose where each task starts."""

  Config = FinetuningConfig

  def __init__(self, **options):
    super().__init__(**options)
    c = self.config
    why = cpu_convolutions.check(c.cpu_convolutions)
    if why:
      raise ConfigError(why)
    self._functions = finetuning_steps.functions(c.width, c.blocks_per_stage, c.stem, c.image_size, c.weight_decay,
                                                 c.momentum, c.compute_dtype, c.cpu_convolutions)

  # --- strategy hooks -------------------------------------------------------------------------------

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    """The backbone a task's trials start from; None for a fresh random initialisation."""
    return None

  def remember(self, state: State, task_name: str, backbone: Backbone, head: dict) -> State:
    """The state after a task: this task's model is kept; older ones only with `keep_task_backbones`."""
    keep_all = self.config.keep_task_backbones
    heads = {**state["heads"], task_name: head} if keep_all else {task_name: head}
    backbones = {**state["backbones"], task_name: backbone} if keep_all else {task_name: backbone}
    return {**state, "heads": heads, "backbones": backbones, "carry": {}}

  # --- protocol -------------------------------------------------------------------------------------

  def init(self, ctx: InitContext) -> State:
    return {"tasks_seen": 0, "heads": {}, "backbones": {}, "carry": {}, "last_search": {}}

  def plan(self, task: TrainingTask, num_examples: int) -> finetune_search.TaskPlan:
    """The schedule, batch and augmentation of the task's trials on `num_examples` training examples."""
    config = self.config
    batch_size = adaptive_batch_size(num_examples, config.min_batch, config.max_batch)
    num_steps = recipe.task_steps(config, num_examples, batch_size)
    words = key_words(task.rng)
    return finetune_search.TaskPlan(
        batch_size=batch_size,
        num_steps=num_steps,
        warmup_steps=recipe.warmup_steps(config, num_examples, batch_size, num_steps),
        eval_every=config.eval_every_steps,
        trial_score=config.trial_score,
        outputs=head_outputs(task.info.num_classes, config.head_min_outputs),
        min_area=float(config.min_crop_area),
        flip_probability=0.5 if augment.flips(task.info, config.flip) else 0.0,
        data_seed=int(derive_key(words, config.seed, Purpose.DATA)[0]),
        words=tuple(words),
        seed=config.seed,
    )

  def starting_point(self, task: TrainingTask, state: State, outputs: int) -> dict:
    """{"params": {"backbone", "head"}, "batch_stats"} every trial starts from: a fresh head on the
    strategy's backbone (or a fresh one)."""
    config, words = self.config, key_words(task.rng)
    start = self.initial_backbone(task, state)
    if start is None:
      start = self._functions.get(task.jit, "backbone_init")(derive_key(words, config.seed, Purpose.INIT))
    else:
      start = to_device(start)
    head = self._functions.get(task.jit, "head_init")(derive_key(words, config.seed, Purpose.HEAD), outputs)
    return {"params": {"backbone": start["params"], "head": head}, "batch_stats": start["batch_stats"]}

  def train(self, task: TrainingTask, state: State) -> State:
    task.notes["convolutions"] = cpu_convolutions.kernels(self.config.cpu_convolutions, self.config.compute_dtype)
    candidates = recipe.search_candidates(self.config, int(state["tasks_seen"]))
    if self.config.select_by == "prequential":
      model, selected, notes = finetune_search.prequential_search(self, task, state, candidates)
      last_search = {"code_length_nats": np.array(notes["code_length_nats"], dtype=np.float64)}
    else:
      plan = self.plan(task, len(task.train))
      start = self.starting_point(task, state, plan.outputs)
      result = finetune_search.dev_search(self, task, start, candidates, plan)
      model, selected = result.model, result.selected
      candidates = candidates[:len(result.dev_error)]
      last_search = {"dev_error": result.dev_error, "dev_log_loss": result.dev_log_loss}
      task.notes["selection"] = {
          "select_by": "dev",
          "candidates": candidates,
          "dev_error": [float(e) for e in result.dev_error],
          "dev_log_loss": [float(e) for e in result.dev_log_loss],
          "final_dev_error": [float(e) for e in result.final_dev_error],
          "kept_step": [int(s) for s in result.best_step],
          "steps": plan.num_steps,
          "batch_size": plan.batch_size,
          "trial_score": plan.trial_score,
          "flip": bool(plan.flip_probability),
          "selected": int(selected),
          "chosen": candidates[selected],
      }
    backbone = {"params": model["params"]["backbone"], "batch_stats": model["batch_stats"]}
    state = self.remember(state, task.info.name, backbone, model["params"]["head"])
    state["tasks_seen"] = int(state["tasks_seen"]) + 1
    state["last_search"] = {
        "learning_rates": np.array([c["learning_rate"] for c in candidates], dtype=np.float64),
        "label_smoothing": np.array([c["label_smoothing"] for c in candidates], dtype=np.float64),
        **last_search,
        "selected": int(selected),
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
    """(dev error, dev mean log-loss in nats) of one model."""
    logits = map_batches(lambda images: self._logits(task.jit, params, batch_stats, images), task.dev.images,
                         self.config.eval_batch_size)[:, :task.info.num_classes]
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
    backbones = {**state["backbones"], task_name: backbone} if self.config.keep_task_backbones else {}
    return {**state, "heads": {**state["heads"], task_name: head}, "backbones": backbones, "carry": backbone}

