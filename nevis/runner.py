"""The runner: walks a stream, trains, evaluates, meters, checkpoints and records.

The path of one task:
  stream factory -> Task (metadata + split loader) -> runner loads train/dev (the learner's view) and
  the evaluation split (kept here) -> [prequential scoring] -> learner.train -> learner state checkpointed
  -> learner.predict on the evaluation split, scored by the runner -> one SQLite transaction records the
  task's events. A run killed anywhere resumes from the last finished task (or the learner's last
  within-task checkpoint) and produces the same numbers.

The learner's code (construction, init, train, predict) runs inside the compute guard (`nevis.guard`)
and is timed per task (`nevis.resources`). A run that fails records why (`nevis.failures`); the workdir
is never deleted (`nevis.workdir`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from pathlib import Path

import jax
import numpy as np

from nevis import checkpoints, config as config_lib, failures, guard, preflight, results as results_lib
from nevis.checkpoints import CheckpointError
from nevis.config import RunConfig
from nevis.errors import ConfigError, LearnerError, UserError
from nevis.meter import ComputeMeter, MeterTotals
from nevis.metrics import classification, prequential as preq_lib
from nevis.online import OnlineRecorder
from nevis.progress import TqdmProgress
from nevis.protocol import DataView, InitContext, Learner, PredictionTask, TrainingTask, padded_batches
from nevis.resources import ResourceMeter, TaskResources
from nevis.results import ResultsStore
from nevis.run_support import (
    build_learner, build_stream, crash_point, npz_bytes, parameter_count, preq_report, progress_bar, versions,
)
from nevis.sampling import cap_per_class
from nevis.stream import Stream
from nevis.task import Task
from nevis.workdir import (
    WorkdirLock, atomic_write_bytes, clean_leftovers, discard_if_unused, new_workdir, open_workdir,
)

__all__ = ["Runner", "RunTimings", "build_learner", "build_stream", "cap_per_class", "OnlineRecorder"]


@dataclasses.dataclass
class RunTimings:
  wall_s: float = 0.0
  learner_s: float = 0.0  # inside learner.init/train/predict
  flop_counting_s: float = 0.0  # counting new signatures, plus finding every call's signature


class Runner:
  def __init__(self, config: RunConfig | dict, workdir: str | Path | None = None, *, resume: bool = False,
               progress: bool = True, runs_root: str | Path = "runs", redo_last_task: bool = False):
    self.config = config if isinstance(config, RunConfig) else RunConfig.parse(config, owner="config")
    self.workdir = Path(workdir) if workdir is not None else None  # None: a new folder under runs_root
    self.runs_root = Path(runs_root)
    self.resume = resume
    self.redo_last_task = redo_last_task
    self.progress = progress
    self.timings = RunTimings()
    self.meter = ComputeMeter()
    self.resources = ResourceMeter()
    self.notices: list[str] = []  # for the user: missing prediction files, a finished run resumed
    self.stopped: str | None = None  # "failed" or "interrupted" once recorded in the results
    self._current: tuple[int | None, str | None] = (None, None)  # the task being worked on

  # ------------------------------------------------------------------------------------------------
  def run(self) -> Path:
    started = time.perf_counter()
    config = self.config
    # Everything that can be wrong with the input is checked before the workdir is touched.
    stream = build_stream(config)
    tasks = list(stream.tasks)[: config.max_tasks] if config.max_tasks else list(stream.tasks)
    if not tasks:
      raise ConfigError(f"stream {config.stream!r} has no tasks with these options")
    with guard.session(self.meter.charge_guarded):
      with self._learner_code("construction", into=self.resources.setup):
        learner = build_learner(config)
      skipped = preflight.check_data(stream, tasks, config)
      if self.workdir is None:
        self.workdir, created = new_workdir(self.runs_root, f"{config.learner}-{config.stream}"), True
      else:
        created = open_workdir(self.workdir, resume=self.resume)
      try:
        self._run_in_workdir(stream, learner, tasks, skipped)
      except BaseException as error:
        discard_if_unused(self.workdir, created)
        if not isinstance(error, UserError) or isinstance(error, failures.LearnerCrashed):
          converted = failures.file_system_error(error, self.workdir)
          if converted is not None:
            raise converted from None
        raise
    self.timings.wall_s += time.perf_counter() - started
    self.timings.flop_counting_s = self.meter.count_seconds + self.meter.lookup_seconds
    return self.workdir

  def _run_in_workdir(self, stream: Stream, learner: Learner, tasks: list[Task], skipped: set[int]) -> None:
    db = self.workdir / results_lib.DB_NAME
    if self.resume and not db.exists():
      raise UserError(f"--resume: {str(self.workdir)!r} holds no run to resume; drop --resume to start one")
    with WorkdirLock(self.workdir):
      clean_leftovers(self.workdir)
      if db.exists() and not self.resume and "config" in results_lib.read_meta(db):
        raise UserError(f"{str(self.workdir)!r} already holds a run; add --resume to continue it or pick a new "
                        "--workdir")
      if self.resume and self._finished(db):
        return
      store = ResultsStore(self.workdir)
      try:
        self._start(store, stream, tasks)
        try:
          self._run_tasks(store, learner, tasks, skipped)
        except BaseException as error:
          if failures.record(store, *self._current, error):
            self.stopped = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
          raise
        setup = self.resources.setup  # construction and init, in this process
        store.set_meta({"status": "complete", "failure": None, "compilations": self.meter.signatures,
                        "host_peak_scope": self.resources.scope(),
                        "learner_setup": {"wall_s": setup.learner_wall_s, "cpu_s": setup.learner_cpu_s}})
      finally:
        store.close(quiet=True)

  def _finished(self, db: Path) -> bool:
    """`--resume` of a finished run: nothing to do, and nothing is written (its config must still match)."""
    meta = results_lib.read_meta(db)
    if meta.get("status") != "complete":
      return False
    self._check_config(meta.get("config") or {})
    self.notices.append(f"the run in {self.workdir} is complete; nothing to resume")
    return True

  def _check_config(self, stored: dict) -> None:
    diffs = config_lib.differences(stored, json.loads(json.dumps(self.config.as_dict(), default=str)))
    if diffs:
      raise UserError(
          f"--resume with a changed config ({'; '.join(diffs)}); resume with the original config or use a new --workdir"
      )

  def _start(self, store: ResultsStore, stream: Stream, tasks: list[Task]) -> None:
    stored = store.get_meta("config")
    if stored is None:
      if store.completed_positions():
        raise UserError(f"{self.workdir} holds results without a config; use a new --workdir")
      store.set_meta(
          {
              "config": self.config.as_dict(),
              "seed": self.config.seed,
              "stream": stream.name,
              "versions": versions(),
              "status": "running",
          }
      )
      store.set_tasks(results_lib.task_row(i, t.info) for i, t in enumerate(tasks))
    elif not self.resume:
      raise UserError(f"{str(self.workdir)!r} already holds a run; add --resume to continue it or pick a new --workdir")
    else:
      self._check_config(stored)
      missing = [p for p in store.prediction_paths() if not (self.workdir / p).is_file()]
      if missing:
        self.notices.append(
            f"{len(missing)} prediction files of finished tasks are missing (e.g. {missing[0]}); their "
            "recorded errors stand but cannot be rescored"
        )
      store.set_meta({"status": "running", "failure": None})

  # ------------------------------------------------------------------------------------------------
  def _run_tasks(self, store: ResultsStore, learner: Learner, tasks: list[Task], skipped: set[int]) -> None:
    self._root_key = jax.random.PRNGKey(self.config.seed)
    ckpt_dir = self.workdir / "checkpoints"
    context = InitContext(jax.random.fold_in(self._root_key, 2**20), self.meter.learner_jit,
                          tuple(t.info for t in tasks))
    with self._learner_code("init", into=self.resources.setup):
      state = learner.init(context)
    for position in store.completed_positions():  # left over when a run died between recording and cleaning up
      shutil.rmtree(ckpt_dir / f"task_{position}", ignore_errors=True)
    state = self._restore(store, tasks, ckpt_dir, state)
    done = store.completed_positions()
    task_bar = progress_bar(len(tasks), "stream", self.progress)
    task_bar.update(len(done))
    for position, task in enumerate(tasks):
      if position in done:
        continue
      self._current = (position, task.info.name)
      if position in skipped:
        store.record_task([dict(event="skip", position=position, task=task.info.name, after_position=position,
                                info={"reason": "data not prepared"})])
      else:
        task_bar.set_description(f"{task.info.name} ({task.info.year})")
        state = self._run_task(store, learner, tasks, skipped, position, state)
      task_bar.update(1)
    self._current = (None, None)
    task_bar.close()

  def _restore(self, store: ResultsStore, tasks: list[Task], ckpt_dir: Path, state):
    """The state and meter totals after the last trained task; with --redo-last-task, before it."""
    trained = sorted(store.trained_positions())
    self._last_trained = trained[-1] if trained else None
    if not trained:
      if self.redo_last_task:
        raise UserError("--redo-last-task: no task has been trained in this run yet; drop the flag")
      return state
    last = trained[-1]
    if not self.redo_last_task:
      try:
        state = checkpoints.load_tree(ckpt_dir / f"state_{last}")
      except CheckpointError as e:
        raise CheckpointError(
            f"the learner state after task {last} ({tasks[last].info.name}): {e}; train that task again from "
            f"the state before it with `nevis run --resume --redo-last-task --workdir {self.workdir}`"
        ) from None
      self.meter.totals = MeterTotals.from_dict(store.get_meta("meter"))
      return state
    previous = trained[-2] if len(trained) > 1 else None
    totals = MeterTotals()
    if previous is not None:
      saved = store.train_event(previous).get("meter_totals")
      if saved is None:
        raise UserError("--redo-last-task needs a run recorded by this version of nevis; start a new run")
      totals = MeterTotals.from_dict(json.loads(saved))
      try:
        state = checkpoints.load_tree(ckpt_dir / f"state_{previous}")
      except CheckpointError as e:
        raise CheckpointError(f"--redo-last-task: the learner state after task {previous}: {e}; start the run "
                              "again in a new --workdir") from None
    store.forget_task(last)
    self.meter.totals = totals
    self._last_trained = previous
    return state

  def _run_task(self, store: ResultsStore, learner: Learner, tasks: list[Task], skipped: set[int], position: int,
                state):
    config = self.config
    task = tasks[position]
    ckpt_dir = self.workdir / "checkpoints"
    task_started = time.perf_counter()
    self.resources.start_task()
    self.meter.totals.helper = {}
    train, dev = self._learner_splits(task)
    task_dir = ckpt_dir / f"task_{position}"
    task_key = jax.random.fold_in(self._root_key, position)
    before = self.meter.totals.as_dict()

    prequential_result = self._prequential(learner, task, position, train, dev, state, task_key, task_dir)

    training_task = self._training_task(task, train, dev, task_key, task_dir / "train")
    with self.meter.charging("train"), self._learner_code("train", task.info.name):
      new_state = learner.train(training_task, state)
    training_task.progress.close()
    train_flops = self.meter.totals.flops["train"] - before["flops"]["train"]
    if config.prequential == "online":
      prequential_result = self._online_result(training_task)
    unsaveable = checkpoints.unsaveable_leaf(new_state)
    if unsaveable is not None:
      raise LearnerError(
          f"learner {config.learner!r} returned a state after task {task.info.name!r} that cannot be "
          f"checkpointed: {unsaveable}; learner state must hold dicts, lists, arrays, numbers and strings"
      )

    # Always continue from the checkpointed state, so an interrupted and an uninterrupted run
    # take the same path.
    checkpoints.save_tree(ckpt_dir / f"state_{position}", new_state)
    crash_point(f"after_state:{position}")
    state = checkpoints.load_tree(ckpt_dir / f"state_{position}")

    eval_positions = [j for j in range(position) if j not in skipped] if config.evaluate_past else []
    eval_positions.append(position)
    eval_events = [self._evaluate(learner, state, tasks[j], j, position, config.evaluate_on) for j in eval_positions]
    eval_flops = sum(e.pop("_eval_flops") for e in eval_events)
    crash_point(f"after_eval:{position}")

    totals = self.meter.totals
    used: TaskResources = self.resources.finish_task()
    train_event = dict(
        event="train",
        position=position,
        task=task.info.name,
        after_position=position,
        train_examples=len(train),
        train_flops=train_flops,
        cumulative_train_flops=totals.flops["train"],
        prequential_flops=totals.flops["prequential"] - before["flops"]["prequential"],
        eval_flops=eval_flops,
        eager_flops=totals.eager_flops - before["eager_flops"],
        unmetered=totals.helper or None,
        meter_totals=totals.as_dict(),
        wall_time_s=time.perf_counter() - task_started,
        parameter_count=parameter_count(state),
        info=training_task.notes,
        **used.as_row(),
        **(prequential_result or {"prequential": "off"}),
    )
    store.record_task([train_event] + eval_events, meta={"meter": totals.as_dict()})
    crash_point(f"after_record:{position}")
    shutil.rmtree(task_dir, ignore_errors=True)
    # The state before this task is kept too: if this one is lost, --redo-last-task trains it again.
    keep = {f"state_{position}", f"state_{self._last_trained}"}
    for old in ckpt_dir.glob("state_*"):
      if old.name not in keep:
        shutil.rmtree(old, ignore_errors=True)
    self._last_trained = position
    return state

  # ------------------------------------------------------------------------------------------------
  def _learner_splits(self, task: Task) -> tuple[DataView, DataView]:
    info = task.info
    train = task.load_split("train")
    cap = self.config.max_train_per_class
    if cap:
      train = train.subset(cap_per_class(train.labels, cap, info.multi_label, seed=self.config.seed))
    dev = task.load_split("dev")
    dev_cap = self.config.max_dev_per_class
    if dev_cap:
      dev = dev.subset(cap_per_class(dev.labels, dev_cap, info.multi_label, seed=self.config.seed + 1))
    return DataView(train, info.num_classes, info.multi_label), DataView(dev, info.num_classes, info.multi_label)

  def _training_task(self, task, train, dev, key, folder, online=None) -> TrainingTask:
    if online is None and self.config.prequential == "online":
      online = OnlineRecorder(train.labels, task.info.num_classes, task.info.multi_label)
    return TrainingTask(
        info=task.info,
        train=train,
        dev=dev,
        rng=key,
        jit=self.meter.learner_jit,
        progress=TqdmProgress(position=1, enabled=self.progress),
        checkpoint=checkpoints.RunnerCheckpointHook(
            folder, self.config.checkpoint_every_steps, self.meter, online=online
        ),
        online_prequential=online,
    )

  @contextlib.contextmanager
  def _learner_code(self, doing: str, task: str | None = None, into: TaskResources | None = None):
    """Around every call into the learner: the compute guard, its time and memory, and its own errors
    turned into one line (with the learner's part of the traceback kept as the cause)."""
    started = time.perf_counter()
    try:
      with guard.learner_code(self.config.learner, doing, task), self.resources.learner(into):
        yield
    except UserError:
      raise
    except Exception as error:
      raise failures.learner_crashed(error, self.config.learner, doing, task) from error
    finally:
      self.timings.learner_s += time.perf_counter() - started

  # ------------------------------------------------------------------------------------------------
  def _predict(self, learner: Learner, state, task: Task, images: np.ndarray) -> np.ndarray:
    """Logits for every image, in fixed-size batches (one compiled shape), checked."""
    info = task.info
    prediction_task = PredictionTask(info, self.meter.learner_jit)
    outputs = []
    for batch in padded_batches(images, None, self.config.eval_batch_size):
      with self._learner_code("predict", info.name):
        logits = np.asarray(learner.predict(prediction_task, state, batch["images"]))
      expected = (len(batch["images"]), info.num_classes)
      if logits.shape != expected:
        raise LearnerError(
            f"learner {self.config.learner!r} returned scores of shape {logits.shape} for task "
            f"{info.name!r}; expected {expected} (batch, classes)"
        )
      outputs.append(logits[batch["mask"]])
    logits = np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0, info.num_classes), np.float32)
    if not np.all(np.isfinite(logits)):
      raise LearnerError(
          f"learner {self.config.learner!r} returned NaN or infinite scores for task {info.name!r}; "
          "check its learning rate and numerics"
      )
    return logits

  def _evaluate(self, learner, state, task: Task, position: int, after: int, split_name: str) -> dict:
    split = task.load_split(split_name)
    before = self.meter.totals.flops["eval"]
    started = time.perf_counter()
    with self.meter.charging("eval"):
      logits = self._predict(learner, state, task, split.images)
    multi = task.info.multi_label
    path = Path("predictions") / f"after_{after:03d}_task_{position:03d}_{split_name}.npz"
    buffer = npz_bytes(logits=logits, labels=np.asarray(split.labels))
    atomic_write_bytes(self.workdir / path, buffer)
    return dict(
        event="eval",
        position=position,
        task=task.info.name,
        after_position=after,
        split=split_name,
        error=classification.task_error(logits, split.labels, multi_label=multi),
        log_loss=classification.mean_log_loss(logits, split.labels, multi_label=multi),
        num_examples=len(split),
        wall_time_s=time.perf_counter() - started,
        predictions_path=str(path),
        _eval_flops=self.meter.totals.flops["eval"] - before,
    )

  # ------------------------------------------------------------------------------------------------
  def _prequential(self, learner, task: Task, position: int, train: DataView, dev: DataView, state, key, task_dir: Path):
    """Block-wise prequential code length (Blier & Ollivier 2018) of the task's training labels.

    The training set is put in a fixed random order; chunk boundaries are a geometric function of its
    size. The first chunk costs the uniform code; chunk s+1 is scored by the learner trained, from the
    state it met this task with, on chunks 1..s. Partial results survive a crash.
    """
    if self.config.prequential != "blockwise":
      return None
    info = task.info
    order = np.random.default_rng([self.config.seed, 7, len(train)]).permutation(len(train))
    ordered = train.subset(order)
    bounds = preq_lib.chunk_boundaries(len(ordered), first_chunk=self.config.prequential_first_chunk)
    progress_file = task_dir / "prequential.json"
    done: list[float] = []
    if progress_file.exists():
      saved = json.loads(progress_file.read_text())
      done = saved["chunk_nats"]
      self.meter.totals = MeterTotals.from_dict(saved["meter"])
    for s in range(len(done), len(bounds) - 1):
      prefix = ordered.subset(np.arange(bounds[s]))
      sub_task = self._training_task(task, prefix, dev, jax.random.fold_in(key, 1000 + s), task_dir / f"preq_{s}")
      with self.meter.charging("prequential"), self._learner_code("train (prequential scoring)", info.name):
        sub_state = learner.train(sub_task, state)
      sub_task.progress.close()
      chunk = np.arange(bounds[s], bounds[s + 1])
      with self.meter.charging("prequential"):
        logits = self._predict(learner, sub_state, task, ordered.images[chunk])
      nll = classification.per_example_nll(logits, ordered.labels[chunk], multi_label=info.multi_label)
      done.append(float(np.sum(nll)))
      atomic_write_bytes(
          progress_file, json.dumps({"chunk_nats": done, "meter": self.meter.totals.as_dict()}).encode()
      )
      crash_point(f"after_chunk:{position}:{s}")
    first = bounds[0] if bounds else 0
    nats = preq_lib.uniform_nats_per_example(info.num_classes, info.multi_label) * first + float(sum(done))
    return {"prequential": "blockwise", "chunk_boundaries": bounds, **preq_report(nats, len(ordered), info)}

  def _online_result(self, training_task: TrainingTask) -> dict:
    recorder: OnlineRecorder = training_task.online_prequential
    nats = recorder.code_length_nats()
    if nats is None:
      raise LearnerError(
          f"learner {self.config.learner!r} does not report online prequential scores "
          f"(task.online_prequential.record); use prequential: blockwise"
      )
    info = training_task.info
    return {"prequential": "online", **preq_report(nats, len(training_task.train), info)}
