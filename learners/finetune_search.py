"""One task's dev search for the fine-tuning learners: trials, periodic dev checks, the kept checkpoint.

Each trial (a {learning_rate, label_smoothing} candidate) trains `plan.num_steps` steps from the same
start, batches and augmentations (common random numbers). With dev data, dev is checked every
`plan.eval_every` steps and after the last one, and the trial's best check — lowest dev error, ties:
lowest dev log-loss, then the earlier — is its kept checkpoint (dm_nevis `fit_with_early_stopping`
checks every 1,000 steps and keeps the best-dev train state). A trial is scored by that best check
(`trial_score: best`) or by its final one (`final`, dm_nevis's trial cost); the lowest-scored trial wins
and its kept checkpoint is the task's model. Without dev data only the first candidate trains and its
last step is kept.

In-task checkpoints (`task.checkpoint.due(steps done in this task)`) hold the trial and step, the
running model and optimiser state, the trial's best check so far, the scores of finished trials and the
winner so far: a resumed task ends bitwise identical to an uninterrupted one on CPU.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nevis.errors import BudgetExhausted, LearnerError
from nevis.learners import selection
from nevis.learners.data_parallel import DataParallel
from nevis.learners.selection import lowest
from nevis.learners.toolkit import Purpose, derive_key, padded_labels, saved_list, to_device
from nevis.protocol import TrainingTask

PROGRESS_LOSS_EVERY = 25  # steps between loss read-backs; each one waits for the device


@dataclasses.dataclass(frozen=True)
class TaskPlan:
  """What every trial of one task shares, fixed before its first step."""

  batch_size: int
  num_steps: int
  warmup_steps: int
  eval_every: int  # dev checks every this many steps (and after the last); 0: after the last only
  trial_score: str  # "best" | "final"
  outputs: int  # head width
  min_area: float  # smallest random crop (area fraction); 1: no crop
  flip_probability: float
  data_seed: int
  words: tuple[int, ...]  # the task key's words
  seed: int


@dataclasses.dataclass
class SearchResult:
  model: dict  # {"params": {"backbone", "head"}, "batch_stats"}: the winner's kept checkpoint
  selected: int
  dev_error: np.ndarray  # per trial, its score's dev error (nan without dev data)
  dev_log_loss: np.ndarray
  best_step: np.ndarray  # per trial, the step of its kept checkpoint
  final_dev_error: np.ndarray  # per trial, dev error after its last step


def _empty_record(num_trials: int) -> dict[str, Any]:
  nan = np.full(num_trials, np.nan)
  return {
      "trial": np.int64(0), "step": np.int64(0),
      "dev_error": nan.copy(), "dev_log_loss": nan.copy(), "final_dev_error": nan.copy(),
      "best_step": np.full(num_trials, -1, np.int64),
      "kept": {},  # the winner so far: its kept checkpoint
      "trial_best": {}, "trial_best_error": np.float64(np.inf), "trial_best_loss": np.float64(np.inf),
      "trial_best_step": np.int64(-1), "trial_last_error": np.float64(np.nan),
      "trial_last_loss": np.float64(np.nan),
  }


def dev_search(learner, task: TrainingTask, fresh: dict, candidates: list[dict], plan: TaskPlan) -> SearchResult:
  """Runs the trials of `candidates` from `fresh` ({"params", "batch_stats"}) and returns the winner."""
  has_dev = len(task.dev) > 0
  if not has_dev:
    candidates = candidates[:1]
  num_trials, num_steps = len(candidates), plan.num_steps
  info = task.info

  def get(name: str):
    return learner._functions.get(task.jit, name)

  train_step = get("train_step_multi_label" if info.multi_label else "train_step_single_label")
  record = _empty_record(num_trials)
  resumed = task.checkpoint.restore()
  if resumed is not None:
    if len(resumed["dev_error"]) != num_trials or int(resumed["trial"]) >= num_trials \
        or int(resumed["step"]) > num_steps:
      raise LearnerError(
          f"the in-task checkpoint of {info.name!r} does not match this config ({len(resumed['dev_error'])} "
          f"trials, at trial {int(resumed['trial'])} step {int(resumed['step'])}); resume with the config it "
          "was written with"
      )
    record = {key: resumed[key] for key in record}
    for key in ("dev_error", "dev_log_loss", "final_dev_error"):
      record[key] = np.array(record[key], dtype=np.float64)
    record["best_step"] = np.array(record["best_step"], dtype=np.int64)
    # Orbax may hand an empty dict back as None.
    record["kept"] = to_device(record["kept"]) if record["kept"] else {}
    record["trial_best"] = to_device(record["trial_best"]) if record["trial_best"] else {}

  fixed = fixed_arguments(plan, info.num_classes)
  placement = DataParallel.for_batch(plan.batch_size, enabled=learner.config.data_parallel)
  if placement.devices > 1:
    task.notes["data_parallel_devices"] = placement.devices
  local = placement.local
  first_trial = int(record["trial"])
  if learner.config.parallel_trials > 1 and num_trials > 1 and resumed is None:
    _parallel_trials(learner, task, fresh, candidates, plan, fixed, train_step, record)
    first_trial = num_trials  # every trial is done
  # The compute budget (nevis.budget) may refuse any call below; the search then stops where it is.
  trial, done, params, batch_stats = first_trial, 0, fresh["params"], fresh["batch_stats"]
  try:
    for trial in range(first_trial, num_trials):
      candidate = candidates[trial]
      done = 0
      if resumed is not None and trial == first_trial:
        params, batch_stats = to_device(resumed["params"]), to_device(resumed["batch_stats"])
        opt_leaves = [jnp.asarray(leaf) for leaf in saved_list(resumed["opt_state"])]
        start_step = int(resumed["step"])
      else:
        params, batch_stats = fresh["params"], fresh["batch_stats"]
        record.update(trial_best={}, trial_best_error=np.float64(np.inf), trial_best_loss=np.float64(np.inf),
                      trial_best_step=np.int64(-1), trial_last_error=np.float64(np.nan),
                      trial_last_loss=np.float64(np.nan))
        opt_leaves = get("optimizer_init")(params)
        start_step = 0
      description = f"{info.name} lr={candidate['learning_rate']:.3g}"
      if candidate["label_smoothing"]:
        description += f" ls={candidate['label_smoothing']:.2f}"
      task.progress.start(f"{description} ({trial + 1}/{num_trials})", total=num_steps)
      done = start_step
      if start_step:
        task.progress.update(start_step)
      learning_rate, smoothing = np.float32(candidate["learning_rate"]), np.float32(candidate["label_smoothing"])
      params, batch_stats, opt_leaves = placement.replicate((params, batch_stats, opt_leaves))
      for step in range(start_step, num_steps):
        params, batch_stats, opt_leaves, loss = _step(learner, task, plan, fixed, train_step, placement,
                                                      (params, batch_stats, opt_leaves), learning_rate, smoothing,
                                                      step, trial)
        done = step + 1
        if done % PROGRESS_LOSS_EVERY == 0 or done == num_steps:
          task.progress.update(1, loss=float(loss))
        else:
          task.progress.update(1)
        if has_dev and (done == num_steps or (plan.eval_every and done % plan.eval_every == 0)):
          error, log_loss = learner._evaluate(task, local(params), local(batch_stats))
          record.update(trial_last_error=np.float64(error), trial_last_loss=np.float64(log_loss))
          if (error, log_loss) < (float(record["trial_best_error"]), float(record["trial_best_loss"])):
            record.update(trial_best={"params": local(params), "batch_stats": local(batch_stats)},
                          trial_best_error=np.float64(error), trial_best_loss=np.float64(log_loss),
                          trial_best_step=np.int64(done))
        if task.checkpoint.due(trial * num_steps + done):
          task.checkpoint.save(jax.device_get({
              **record, "trial": np.int64(trial), "step": np.int64(done),
              "params": local(params), "batch_stats": local(batch_stats), "opt_state": list(local(opt_leaves)),
          }))
      task.progress.close()
      if has_dev:
        use_best = plan.trial_score == "best"
        record["dev_error"][trial] = record["trial_best_error"] if use_best else record["trial_last_error"]
        record["dev_log_loss"][trial] = record["trial_best_loss"] if use_best else record["trial_last_loss"]
        record["final_dev_error"][trial] = record["trial_last_error"]
        record["best_step"][trial] = record["trial_best_step"]
        kept = record["trial_best"]
      else:
        record["best_step"][trial] = num_steps
        kept = {"params": local(params), "batch_stats": local(batch_stats)}
      if lowest(record["dev_error"][:trial + 1], record["dev_log_loss"][:trial + 1]) == trial:
        record["kept"] = kept
  except BudgetExhausted:
    task.progress.close()
    _stop_at_budget(task, record, plan, trial, done, {"params": local(params), "batch_stats": local(batch_stats)})

  selected = lowest(record["dev_error"], record["dev_log_loss"])
  return SearchResult(record["kept"], selected, record["dev_error"], record["dev_log_loss"],
                      record["best_step"], record["final_dev_error"])


def _stop_at_budget(task: TrainingTask, record: dict, plan: TaskPlan, trial: int, steps: int, running: dict) -> None:
  """The budget refused a call in `trial` after `steps` of its steps: that trial ends there, scored by its best
  dev check so far (as after its last step), later trials do not run, and the best trial so far wins. With
  nothing scored yet, the model is `running`: the trial's parameters, or the start when no step ran."""
  task.notes["budget"] = {"stopped_in_trial": trial, "steps_in_trial": steps}
  if record["trial_best"]:  # dev was checked in this trial (never without dev data)
    use_best = plan.trial_score == "best"
    record["dev_error"][trial] = record["trial_best_error"] if use_best else record["trial_last_error"]
    record["dev_log_loss"][trial] = record["trial_best_loss"] if use_best else record["trial_last_loss"]
    record["final_dev_error"][trial] = record["trial_last_error"]
    record["best_step"][trial] = record["trial_best_step"]
    if lowest(record["dev_error"][:trial + 1], record["dev_log_loss"][:trial + 1]) == trial:
      record["kept"] = record["trial_best"]
  if not record["kept"]:
    record["kept"] = running
    record["best_step"][trial] = steps


def _parallel_trials(learner, task: TrainingTask, fresh: dict, candidates: list[dict], plan: TaskPlan, fixed: dict,
                     train_step, record: dict) -> None:
  """Every trial at once, `parallel_trials` at a time on threads (JAX runs concurrent calls; the meter and the
  guard are thread-safe), recorded in trial order exactly as the sequential loop records them: each trial is a
  pure function of the same start, batches and augmentations and its own learning rate."""
  workers = min(learner.config.parallel_trials, len(candidates))
  task.progress.start(f"{task.info.name}: {len(candidates)} trials, {workers} at a time",
                      total=len(candidates) * plan.num_steps)
  with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="nevis-trial") as pool:
    trials = list(pool.map(lambda t: _one_trial(learner, task, fresh, candidates[t], t, plan, fixed, train_step),
                           range(len(candidates))))
  task.progress.close()
  use_best = plan.trial_score == "best"
  for trial, done in enumerate(trials):  # with dev data: the search has more than one trial only then
    record["dev_error"][trial] = done["best_error"] if use_best else done["last_error"]
    record["dev_log_loss"][trial] = done["best_loss"] if use_best else done["last_loss"]
    record["final_dev_error"][trial] = done["last_error"]
    record["best_step"][trial] = done["best_step"]
    if lowest(record["dev_error"][:trial + 1], record["dev_log_loss"][:trial + 1]) == trial:
      record["kept"] = done["best"]


def _one_trial(learner, task: TrainingTask, fresh: dict, candidate: dict, trial: int, plan: TaskPlan, fixed: dict,
               train_step) -> dict:
  """One trial from its start to its last step with its dev checks (the sequential loop's, without in-task
  checkpoints): its best check and its last."""
  placement = DataParallel.for_batch(plan.batch_size, enabled=learner.config.data_parallel)
  local = placement.local
  params, batch_stats = fresh["params"], fresh["batch_stats"]
  opt_leaves = learner._functions.get(task.jit, "optimizer_init")(params)
  params, batch_stats, opt_leaves = placement.replicate((params, batch_stats, opt_leaves))
  learning_rate, smoothing = np.float32(candidate["learning_rate"]), np.float32(candidate["label_smoothing"])
  out = {"best": {}, "best_error": np.inf, "best_loss": np.inf, "best_step": -1, "last_error": np.nan,
         "last_loss": np.nan}
  for step in range(plan.num_steps):
    params, batch_stats, opt_leaves, _ = _step(learner, task, plan, fixed, train_step, placement,
                                               (params, batch_stats, opt_leaves), learning_rate, smoothing, step, trial)
    task.progress.update(1)
    done = step + 1
    if done == plan.num_steps or (plan.eval_every and done % plan.eval_every == 0):
      error, log_loss = learner._evaluate(task, local(params), local(batch_stats))
      out.update(last_error=error, last_loss=log_loss)
      if (error, log_loss) < (out["best_error"], out["best_loss"]):
        out.update(best={"params": local(params), "batch_stats": local(batch_stats)}, best_error=error,
                   best_loss=log_loss, best_step=done)
  return out


def _step(learner, task: TrainingTask, plan: TaskPlan, fixed: dict, train_step, placement, running: tuple,
          learning_rate, smoothing, step: int, trial: int) -> tuple:
  """One step of a trial from `running` (params, batch_stats, opt_leaves): the batch of `step`, sharded over the
  devices; in the first trial, online prequential scoring sees the batch before the step trains on it.
  Returns (params, batch_stats, opt_leaves, loss)."""
  params, batch_stats, opt_leaves = running
  batch = task.train.batch_at(step, plan.batch_size, seed=plan.data_seed)
  labels = placement.shard(padded_labels(batch["labels"], plan.outputs, task.info.multi_label))
  if task.online_prequential is not None and trial == 0:
    logits = learner._logits(task.jit, placement.local(params), placement.local(batch_stats), batch["images"])
    task.online_prequential.record(batch, logits[:, :task.info.num_classes])
  images = {"images": placement.shard(batch["images"])}
  return train_step(params, batch_stats, opt_leaves,
                    *step_arguments(plan, fixed, images, labels, learning_rate, smoothing, step))


def fixed_arguments(plan: TaskPlan, num_classes: int) -> dict[str, np.ndarray]:
  """The train step's arguments that stay the same for a whole task."""
  return {
      "num_classes": np.int32(num_classes), "warmup_steps": np.int32(plan.warmup_steps),
      "total_steps": np.int32(plan.num_steps), "min_area": np.float32(plan.min_area),
      "flip_probability": np.float32(plan.flip_probability),
  }


def step_arguments(plan: TaskPlan, fixed: dict, batch: dict, labels, learning_rate, smoothing, step: int) -> tuple:
  """The train step's arguments after (params, batch_stats, opt_leaves), in its order."""
  return (
      derive_key(plan.words, plan.seed, Purpose.AUGMENT, step), batch["images"], labels,
      fixed["num_classes"], learning_rate, smoothing, np.int32(step), fixed["warmup_steps"], fixed["total_steps"],
      fixed["min_area"], fixed["flip_probability"],
  )


def prequential_search(learner, task: TrainingTask, state, candidates: list[dict]) -> tuple[dict, int, dict]:
  """Candidates scored by prequential code length over train + dev pooled; the winner refitted on all of
  it (`nevis.learners.selection`). Returns (model, selected index, the selection's notes)."""
  config, info = learner.config, task.info
  full_plan = learner.plan(task, len(task.train) + len(task.dev))
  start = learner.starting_point(task, state, full_plan.outputs)
  train_step = learner._functions.get(
      task.jit, "train_step_multi_label" if info.multi_label else "train_step_single_label"
  )

  def fit(candidate: dict, data) -> dict:
    plan = learner.plan(task, len(data))
    fixed = fixed_arguments(plan, info.num_classes)
    learning_rate, smoothing = np.float32(candidate["learning_rate"]), np.float32(candidate["label_smoothing"])
    params, batch_stats = start["params"], start["batch_stats"]
    opt_leaves = learner._functions.get(task.jit, "optimizer_init")(params)
    placement = DataParallel.for_batch(plan.batch_size, enabled=config.data_parallel)
    if placement.devices > 1:
      task.notes["data_parallel_devices"] = placement.devices
    params, batch_stats, opt_leaves = placement.replicate((params, batch_stats, opt_leaves))
    task.progress.start(f"{info.name} lr={candidate['learning_rate']:.3g} n={len(data)}", total=plan.num_steps)
    for step in range(plan.num_steps):
      batch = data.batch_at(step, plan.batch_size, seed=plan.data_seed)
      labels = placement.shard(padded_labels(batch["labels"], plan.outputs, info.multi_label))
      images = {"images": placement.shard(batch["images"])}
      params, batch_stats, opt_leaves, _ = train_step(
          params, batch_stats, opt_leaves, *step_arguments(plan, fixed, images, labels, learning_rate, smoothing, step)
      )
      task.progress.update(1)
    task.progress.close()
    return placement.local({"params": params, "batch_stats": batch_stats})

  def logits(model: dict, data) -> np.ndarray:
    parts = [
        learner._logits(task.jit, model["params"], model["batch_stats"], batch["images"])[batch["mask"]]
        for batch in data.ordered_batches(config.eval_batch_size)
    ]
    return np.concatenate(parts)[:, :info.num_classes]

  result = selection.select(
      task, candidates, fit, logits, select_by="prequential", seed=full_plan.data_seed,
      first_chunk=config.prequential_first_chunk,
  )
  return result.model, int(result.selected), result.notes
