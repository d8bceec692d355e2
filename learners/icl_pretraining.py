"""Meta-pretraining of the `icl` learner (mode `meta_pretrain`) and the artefact later runs start from
(`init_from: WORKDIR`).

A meta-pretraining is an ordinary nevis run: `learner: icl`, `mode: meta_pretrain`, on a stream whose tasks
have many classes and no image of the evaluation stream (e.g. `glyphs`). On each task the learner trains
the whole network for `num_steps` steps on N-way episodes of its training split (`icl_loop.episodes`):
N ~ U{meta_ways} classes, a pool of s ~ U{meta_shots} examples of each, a context of `context_size`
examples balanced over the pools (cycling when they are small, as prediction does on a few-shot task),
queries from the rest, and a fresh random class-to-id assignment per episode, so no class can be learnt
in the weights and only learning from the context lowers the loss. Why a mode and not a stream of small
tasks: an episode is a fresh draw of N classes among thousands at every step, which a stream of fixed
tasks could only approximate with thousands of tasks, each paying the harness's per-task evaluation and
records; inside one task the draws are a pure function of the step and cost nothing.

Everything a step runs goes through `task.jit` (metered as training), and the loop saves an in-task
checkpoint whenever `task.checkpoint.due(step)`, so a killed pretraining resumes bitwise where it stopped.
The learner's `task.notes` record the training loss over the run (`train_loss_curve`) and the error on
`DEV_EPISODES` episodes drawn in the same way from the dev split (`dev_episode_error`, with the chance
error of those episodes). The task itself is then scored like `icl_only` scores a task: by contexts when
it has at most `label_vocab` classes, else by the prototype route (nearest class mean of the encoder's
features), which is what `nevis run` reports for the pretraining run.

`init_from: WORKDIR`: a run starts from the model in WORKDIR's final learner state (the last
`checkpoints/state_<p>`) instead of a fresh initialisation. The state names the architecture it was
trained with; another architecture is a one-line ConfigError when the learner is built, before any run
starts. The harness records the source run's training FLOPs as the new run's pretraining compute
(`Learner.starts_from`, `nevis.pretraining`).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from nevis.errors import ConfigError, LearnerError
from nevis.learners import icl_loop, icl_steps
from nevis.learners.icl_prompts import class_members
from nevis.learners.toolkit import Purpose, derive_key, same_shapes
from nevis.protocol import DataView, TrainingTask

ARCHITECTURE_KEYS = ("encoder", "width", "blocks_per_stage", "image_size", "vit", "sequence", "label_vocab")
CHECKPOINT_MARK = "meta_pretrain"  # what an in-task checkpoint of this loop says it is
DEV_EPISODES = 64  # episodes of the dev split scored after training
EPISODES_PER_CALL = 8
CURVE_POINTS = 20  # the training loss is recorded as the mean over this many equal runs of steps
# The options a saved loop must share with the run that resumes it (besides the architecture).
RECIPE_KEYS = ("num_steps", "learning_rates", "warmup_fraction", "meta_ways", "meta_shots", "meta_unbalanced",
               "meta_prototype_weight", "context_size",
               "queries_per_prompt", "prompts_per_step", "label_vocab", "min_crop_area", "flip", "seed")

Fn = Callable[[str], Callable]


def _recipe(config) -> str:
  options = config.as_dict()
  return json.dumps({key: options[key] for key in RECIPE_KEYS}, sort_keys=True)


def architecture(config) -> str:
  """The options that fix the network's shapes, as JSON (kept in the learner state, read by `init_from`)."""
  options = config.as_dict()
  return json.dumps({key: options[key] for key in ARCHITECTURE_KEYS}, sort_keys=True)


# --- meta-pretraining --------------------------------------------------------------------------------


def meta_pretrain(config, fn: Fn, task: TrainingTask, start: dict, words: list[int],
                  augmentation: tuple[float, float]) -> dict:
  """The model after `num_steps` episode steps on `task`'s training split (see the module docstring)."""
  info = task.info
  if info.multi_label:
    raise LearnerError(f"meta_pretrain trains on single-label tasks; {info.name!r} is multi-label")
  c = config
  labels = np.asarray(task.train.labels)
  if sum(len(m) >= 2 for m in class_members(labels)) < 2:
    raise LearnerError(f"meta_pretrain needs two classes with two training examples each; {info.name!r} has fewer")
  draw = icl_loop.episodes(labels, c.meta_ways, c.meta_shots, c.context_size, c.queries_per_prompt,
                           c.prompts_per_step, c.label_vocab, c.meta_unbalanced)
  schedule = icl_loop.Schedule(c.num_steps, c.learning_rates[0], round(c.warmup_fraction * c.num_steps))
  bins = np.linspace(0, c.num_steps, CURVE_POINTS + 1).round().astype(np.int64)[1:]
  loss_sums, loss_counts = np.zeros(len(bins)), np.zeros(len(bins), np.int64)
  saved = task.checkpoint.restore()
  if saved is not None:
    _check_saved(saved, start, config, info.name)
    loss_sums, loss_counts = np.asarray(saved["loss_sums"], np.float64), np.asarray(saved["loss_counts"], np.int64)

  def after_step(loop: dict) -> None:
    step = loop["step"]
    where = int(np.searchsorted(bins, step))  # step s (1-based) belongs to the first bin ending at or after it
    loss_sums[where] += float(loop["loss"])
    loss_counts[where] += 1
    if task.checkpoint.due(step):
      task.checkpoint.save(jax.device_get({
          "mark": CHECKPOINT_MARK, "recipe": _recipe(config), "step": np.int64(step), "params": loop["params"],
          "batch_stats": loop["batch_stats"], "opt_leaves": loop["opt_leaves"], "loss_sums": loss_sums,
          "loss_counts": loss_counts,
      }))

  task.progress.start(f"{info.name} meta_pretrain", total=c.num_steps)
  if saved is not None:
    task.progress.update(int(saved["step"]))
  model = icl_loop.prompt_steps(fn, start, task.train.images, draw, schedule, (words, c.seed, Purpose.DATA),
                                augmentation, task.progress, saved, after_step,
                                ("icl_meta_train_step", (np.float32(c.meta_prototype_weight),)))
  task.progress.close()
  task.notes["train_loss_curve"] = [[int(end), float(total / count)]
                                    for end, total, count in zip(bins, loss_sums, loss_counts) if count]
  if len(task.dev):
    scored = episode_error(config, fn, model, task.dev, words)
    if scored is not None:
      task.notes["dev_episode_error"], task.notes["dev_episode_chance"] = scored
  return model


def _check_saved(saved: dict, start: dict, config, name: str) -> None:
  expected = {"params": start["params"], "batch_stats": start["batch_stats"]}
  fits = (saved.get("mark") == CHECKPOINT_MARK and saved.get("recipe") == _recipe(config)
          and all(k in saved for k in ("step", "opt_leaves", "loss_sums"))
          and 0 <= int(saved["step"]) <= config.num_steps and np.shape(saved["loss_sums"]) == (CURVE_POINTS,)
          and same_shapes({key: saved.get(key) for key in expected}, expected))
  if not fits:
    raise LearnerError(f"the in-task checkpoint of {name!r} is not a meta_pretrain loop of this config (its steps, "
                       "rates, episodes or parameter shapes differ); resume with the config it was written with")


def episode_error(config, fn: Fn, model: dict, data: DataView, words: list[int]) -> tuple[float, float] | None:
  """(error, chance error) of `model` on DEV_EPISODES episodes of `data`, drawn as in training; None when
  `data` has fewer than two classes with two examples."""
  c = config
  labels = np.asarray(data.labels)
  if sum(len(m) >= 2 for m in class_members(labels)) < 2:
    return None
  draw = icl_loop.episodes(labels, c.meta_ways, c.meta_shots, c.context_size, c.queries_per_prompt,
                           EPISODES_PER_CALL, c.label_vocab)
  rng = np.random.default_rng(derive_key(words, c.seed, Purpose.EPISODES))
  score, preprocess = fn("episode_log_probs"), fn("eval_preprocess")
  wrong, chance = [], []
  split = EPISODES_PER_CALL * c.context_size
  for _ in range(DEV_EPISODES // EPISODES_PER_CALL):
    batch = draw(rng)
    images = np.asarray(data.images)
    log_probs = score(model["params"], model["batch_stats"], preprocess(images[batch.examples[:split]]), batch.perm,
                      batch.context_labels, preprocess(images[batch.examples[split:]]), batch.num_classes)
    wrong.append(np.asarray(log_probs).argmax(-1) != batch.query_labels)
    chance.append(np.broadcast_to(1.0 - 1.0 / batch.num_classes[:, None], batch.query_labels.shape))
  return float(np.mean(wrong)), float(np.mean(chance))


# --- init_from -------------------------------------------------------------------------------------


def load_model(config) -> dict:
  """The model in `config.init_from`'s final learner state, checked against `config`'s architecture."""
  from nevis.checkpoints import latest, load_tree

  workdir = config.init_from
  found = latest(Path(workdir) / "checkpoints", "state_")
  if found is None:
    raise ConfigError(f"init_from {workdir!r} holds no learner state (checkpoints/state_*); point it at the workdir "
                      "of a finished icl run (e.g. mode meta_pretrain)")
  state = load_tree(found[1])
  if not isinstance(state, dict) or "model" not in state or "architecture" not in state:
    raise ConfigError(f"init_from {workdir!r} holds no icl model; point it at a run of learner icl "
                      "(e.g. mode meta_pretrain)")
  theirs, ours = json.loads(state["architecture"]), json.loads(architecture(config))
  differ = [f"{key} {theirs.get(key)!r} there, {ours[key]!r} here" for key in ARCHITECTURE_KEYS
            if theirs.get(key) != ours[key]]
  if differ or not _fits(state["model"], icl_steps.model_shapes(config)):
    raise ConfigError(f"init_from {workdir!r} holds a model of another architecture ({'; '.join(differ) or 'shapes'}); "
                      "use the architecture options it was trained with")
  return state["model"]


def _fits(model, shapes) -> bool:
  leaves, structure = jax.tree.flatten(model)
  expected, expected_structure = jax.tree.flatten(shapes)
  return structure == expected_structure and all(np.shape(a) == tuple(b.shape) for a, b in zip(leaves, expected))
