"""The `icl` learner's step loop over prompts, shared by fine-tuning on a task's own prompts (`icl_ft`) and
meta-pretraining on episodes (`meta_pretrain`).

Each step draws its prompts on the host from a generator seeded by (task key, `seed`, stream, step) — a pure
function of the step, so a loop resumed from a checkpoint draws what an uninterrupted one drew — and runs
one compiled step through `task.jit`. What a step's prompts are is the caller's `Draw`:
  * `task_prompts`: a context balanced over the task's classes and queries from the rest of its examples,
    each prompt with its own random class-to-id assignment (icl_ft);
  * `episodes`: N-way episodes (`icl_prompts.sample_episode`) over the many classes of a pretraining task,
    each with its own assignment and its own number of ways (meta_pretrain).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from nevis.learners.icl_prompts import class_members, random_assignment, sample_episode, sample_prompt
from nevis.learners.toolkit import Purpose, derive_key, saved_list, to_device


@dataclasses.dataclass(frozen=True)
class PromptBatch:
  """One step's prompts: P contexts of k examples, q queries each."""

  examples: np.ndarray  # (P * (k + q),) indices of the images: the P contexts' examples first, then the queries
  perm: np.ndarray  # (P, label_vocab) int32 class-to-id assignments
  context_labels: np.ndarray  # (P, k) int32
  query_labels: np.ndarray  # (P, q) int32
  num_classes: np.ndarray  # int32, () for every prompt or (P,) per prompt


Draw = Callable[[np.random.Generator], PromptBatch]
AfterStep = Callable[[dict], None]  # told the step loop's {step, params, batch_stats, opt_leaves, loss[, head]}


def task_prompts(labels: np.ndarray, num_classes: int, k: int, q: int, p: int, vocab: int) -> Draw:
  """Prompts from a task's own examples (`sample_prompt`), classes shown through random assignments."""
  labels = np.asarray(labels)

  def draw(rng: np.random.Generator) -> PromptBatch:
    prompts = [sample_prompt(labels, k, q, rng) for _ in range(p)]
    context = np.stack([c for c, _ in prompts])
    queries = np.stack([qs for _, qs in prompts])
    perm = np.stack([random_assignment(vocab, rng) for _ in range(p)])
    return PromptBatch(np.concatenate([context.ravel(), queries.ravel()]), perm, labels[context].astype(np.int32),
                       labels[queries].astype(np.int32), np.int32(num_classes))

  return draw


def episodes(labels: np.ndarray, ways: tuple[int, int], shots: tuple[int, int], k: int, q: int, p: int,
             vocab: int, unbalanced: float = 0.0) -> Draw:
  """N-way episodes over a task's classes (`sample_episode`), one assignment and one N per prompt."""
  members = class_members(labels)

  def draw(rng: np.random.Generator) -> PromptBatch:
    drawn = [sample_episode(members, ways, shots, k, q, rng, unbalanced) for _ in range(p)]
    perm = np.stack([random_assignment(vocab, rng) for _ in range(p)])
    context = np.stack([e[0] for e in drawn])
    queries = np.stack([e[2] for e in drawn])
    return PromptBatch(np.concatenate([context.ravel(), queries.ravel()]), perm,
                       np.stack([e[1] for e in drawn]).astype(np.int32), np.stack([e[3] for e in drawn]).astype(np.int32),
                       np.array([e[4] for e in drawn], np.int32))

  return draw


@dataclasses.dataclass(frozen=True)
class Schedule:
  """How long and how fast: `steps` steps at a warm-up-cosine rate peaking at `learning_rate`."""

  steps: int
  learning_rate: float
  warmup_steps: int


def prompt_steps(fn: Callable[[str], Callable], start: dict, images: np.ndarray, draw: Draw, schedule: Schedule,
                 key_path: tuple[list[int], int, int], augmentation: tuple[float, float], progress=None,
                 resume: dict | None = None, after_step: AfterStep | None = None,
                 step_function: tuple[str, tuple] = ("icl_train_step", ())) -> dict:
  """`schedule.steps` ICL steps from `start` (or from the saved loop `resume`); returns {params, batch_stats}.

  `fn(name)` gives the learner's compiled function `name`; `key_path` = (task key words, seed, stream): step
  s draws its prompts from (words, seed, stream, s) and its augmentation from (words, seed, AUGMENT, stream,
  s); `augmentation` = (smallest crop area, flip probability). `after_step` gets the loop {step, params,
  batch_stats, opt_leaves, loss} after every step (for in-task checkpoints). `step_function` names the compiled
  step and the arguments it takes after the schedule's."""
  words, seed, stream = key_path
  min_area, flip_probability = (np.float32(x) for x in augmentation)
  if resume is None:
    params, batch_stats, first = start["params"], start["batch_stats"], 0
    opt_leaves = fn("optimizer_init")(params)
  else:
    params, batch_stats, opt_leaves, first = saved_loop(resume)
  step_name, extra = step_function
  step_fn, preprocess = fn(step_name), fn("train_preprocess")
  for step in range(first, schedule.steps):
    batch = draw(np.random.default_rng(derive_key(words, seed, stream, step)))
    inputs = preprocess(derive_key(words, seed, Purpose.AUGMENT, stream, step), images[batch.examples], min_area,
                        flip_probability)
    params, batch_stats, opt_leaves, loss = step_fn(
        params, batch_stats, opt_leaves, inputs, batch.perm, batch.context_labels, batch.query_labels,
        batch.num_classes, np.float32(schedule.learning_rate), np.int32(step), np.int32(schedule.warmup_steps),
        np.int32(schedule.steps), *extra)
    if progress is not None:
      progress.update(1)
    if after_step is not None:
      after_step({"step": step + 1, "params": params, "batch_stats": batch_stats, "opt_leaves": opt_leaves,
                  "loss": loss})
  return {"params": params, "batch_stats": batch_stats}


def saved_loop(saved: dict) -> tuple[Any, Any, list, int]:
  """(params, batch_stats, opt_leaves, step) of a step loop read back from an in-task checkpoint."""
  opt_leaves = [jnp.asarray(leaf) for leaf in saved_list(saved["opt_leaves"])]
  return to_device(saved["params"]), to_device(saved["batch_stats"]), opt_leaves, int(saved["step"])
