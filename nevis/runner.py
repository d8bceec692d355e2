"""The runner: walks a stream, trains, evaluates, meters, checkpoints and records.

The path of one task:
  stream factory -> Task (metadata + split loader) -> runner loads train/dev (the learner's view) and
  the evaluation split (kept here) -> [prequential scoring] -> learner.train -> learner.predict on the
  evaluation split, scored by the runner -> learner state checkpointed -> one SQLite transaction records
  the task's events. A run killed anywhere resumes from the last finished task (or the learner's last
  within-task checkpoint) and produces the same numbers.
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import os
import platform
import signal
import shutil
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from nevis import checkpoints, config as config_lib, registry
from nevis.errors import ConfigError, DataError, LearnerError, UserError
from nevis.meter import ComputeMeter, MeterTotals
from nevis.metrics import classification, prequential as preq_lib
from nevis.progress import TqdmProgress
from nevis.protocol import DataView, InitContext, Learner, PredictionTask, TrainingTask, padded_batches
from nevis.results import ResultsStore
from nevis.stream import Stream
from nevis.task import Task
from nevis.workdir import WorkdirLock, atomic_write_bytes


@dataclasses.dataclass
class RunTimings:
  wall_s: float = 0.0
  learner_s: float = 0.0  # inside learner.init/train/predict
  flop_counting_s: float = 0.0  # counting new signatures, plus finding every call's signature


def build_stream(config: dict) -> Stream:
  registry.import_modules(config["imports"])
  factory = registry.STREAMS.get(config["stream"])
  _check_options(factory, config["stream_options"], f"stream {config['stream']!r}", "stream_options")
  return factory(**config["stream_options"])


def build_learner(config: dict) -> Learner:
  registry.import_modules(config["imports"])
  learner_cls = registry.LEARNERS.get(config["learner"])
  return learner_cls(**config["learner_options"])


def _check_options(factory, options: dict, owner: str, key: str) -> None:
  params = inspect.signature(factory).parameters
  if any(p.kind == p.VAR_KEYWORD for p in params.values()):
    return
  valid = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
  from nevis.errors import closest

  for name in options:
    if name not in valid:
      raise ConfigError(f"{key}: unknown option {name!r} for {owner}{closest(name, valid)}; valid: {valid}")


class Runner:
  def __init__(self, config: dict, workdir: str | Path, *, resume: bool = False, progress: bool = True):
    self.config = config
    self.workdir = Path(workdir)
    self.resume = resume
    self.progress = progress
    self.timings = RunTimings()
    self.meter = ComputeMeter()

  # ------------------------------------------------------------------------------------------------
  def run(self) -> Path:
    started = time.perf_counter()
    config = self.config
    # Everything that can be wrong with the input is checked before the workdir is touched.
    stream = build_stream(config)
    with self._timed():  # constructing the learner runs the learner's code
      learner = build_learner(config)
    tasks = list(stream.tasks)[: config["max_tasks"]] if config["max_tasks"] else list(stream.tasks)
    if not tasks:
      raise ConfigError(f"stream {config['stream']!r} has no tasks with these options")

    skipped = self._preflight_data(stream, tasks)

    if self.resume and not (self.workdir / "results.sqlite").exists():
      raise UserError(f"--resume: {str(self.workdir)!r} holds no run to resume; drop --resume to start one")
    self.workdir.mkdir(parents=True, exist_ok=True)
    with WorkdirLock(self.workdir):
      store = ResultsStore(self.workdir)
      try:
        self._start(store, stream, tasks)
        self._run_tasks(store, learner, tasks, skipped)
        self.timings.wall_s += time.perf_counter() - started
        self.timings.flop_counting_s = self.meter.count_seconds + self.meter.lookup_seconds
        store.set_meta({"status": "complete", "compilations": self.meter.signatures})
      finally:
        store.close()
    return self.workdir

  def _preflight_data(self, stream: Stream, tasks: list[Task]) -> set[int]:
    """Stops before training if data is missing or corrupt, naming it and the command that fixes it.

    Prepared datasets are verified against their checksums here (once per dataset), so a corrupt file
    stops the run before anything trains.
    """
    unavailable, verified = {}, {}
    for position, task in enumerate(tasks):
      if task.data is None:
        continue
      dataset = task.info.dataset
      if dataset not in verified:
        status = task.data.status()
        if status == "prepared":
          try:
            task.data.verify()
          except DataError:
            status = "corrupt"
        verified[dataset] = status
      if verified[dataset] != "prepared":
        unavailable[position] = (task, verified[dataset])
    corrupt = sorted({t.info.dataset for t, s in unavailable.values() if s == "corrupt"})
    if corrupt:
      raise DataError(
          f"stored data failed its checksums: {', '.join(corrupt)}; "
          f"run `nevis data prepare {' '.join(corrupt)} --force` to prepare it again"
      )
    if unavailable and not self.config["allow_missing"]:
      datasets = sorted({f"{t.info.dataset} ({status})" for t, status in unavailable.values()})
      raise DataError(
          f"stream {stream.name!r} needs data that is not prepared: {', '.join(datasets)}; "
          f"run `nevis data prepare {self.config['stream']}` (see `nevis data status {self.config['stream']}`), "
          "or add --set allow_missing=true to skip those tasks"
      )
    return set(unavailable)

  def _start(self, store: ResultsStore, stream: Stream, tasks: list[Task]) -> None:
    stored = store.get_meta("config")
    if stored is None:
      if store.completed_positions():
        raise UserError(f"{self.workdir} holds results without a config; use a new --workdir")
      store.set_meta(
          {
              "config": self.config,
              "seed": self.config["seed"],
              "stream": stream.name,
              "versions": _versions(),
              "status": "running",
          }
      )
      store.set_tasks(
          dict(
              position=i,
              name=t.info.name,
              dataset=t.info.dataset,
              display_name=t.info.display_name,
              year=t.info.year,
              kind=t.info.kind.value,
              num_classes=t.info.num_classes,
              held_out=int(t.info.held_out),
              source=t.info.source,
          )
          for i, t in enumerate(tasks)
      )
    elif not self.resume:
      raise UserError(f"{str(self.workdir)!r} already holds a run; add --resume to continue it or pick a new --workdir")
    else:
      diffs = config_lib.differences(stored, json.loads(json.dumps(self.config, default=str)))
      if diffs:
        raise UserError(
            f"--resume with a changed config ({'; '.join(diffs)}); resume with the original config or use a new --workdir"
        )

  # ------------------------------------------------------------------------------------------------
  def _run_tasks(self, store: ResultsStore, learner: Learner, tasks: list[Task], skipped: set[int]) -> None:
    config = self.config
    seed = config["seed"]
    root_key = jax.random.PRNGKey(seed)
    ckpt_dir = self.workdir / "checkpoints"
    done = store.completed_positions()
    infos = tuple(t.info for t in tasks)

    with self._timed():
      state = learner.init(InitContext(jax.random.fold_in(root_key, 2**20), self.meter.jit, infos))
    trained = store.trained_positions()
    last_trained = max(trained) if trained else None
    for position in done:  # left over when a run died between recording a task and cleaning up
      shutil.rmtree(ckpt_dir / f"task_{position}", ignore_errors=True)
    if last_trained is not None:
      state = checkpoints.load_tree(ckpt_dir / f"state_{last_trained}")
      self.meter.totals = MeterTotals.from_dict(store.get_meta("meter"))

    eval_split = config["evaluate_on"]
    task_bar = _bar(len(tasks), "stream", self.progress)
    task_bar.update(len(done))
    for position, task in enumerate(tasks):
      if position in done:
        continue
      if position in skipped:
        store.record_task([dict(event="skip", position=position, task=task.info.name, after_position=position,
                                info={"reason": "data not prepared"})])
        task_bar.update(1)
        continue
      task_bar.set_description(f"{task.info.name} ({task.info.year})")
      task_started = time.perf_counter()
      train, dev = self._learner_splits(task)
      task_dir = ckpt_dir / f"task_{position}"
      task_key = jax.random.fold_in(root_key, position)
      before = self.meter.totals.as_dict()["flops"]

      prequential_result = self._prequential(learner, task, position, train, dev, state, task_key, task_dir)

      training_task = self._training_task(task, train, dev, task_key, task_dir / "train")
      with self.meter.charging("train"), self._timed():
        new_state = learner.train(training_task, state)
      training_task.progress.close()
      train_flops = self.meter.totals.flops["train"] - before["train"]
      if train_flops <= 0:
        raise LearnerError(
            f"learner {config['learner']!r} trained task {task.info.name!r} without metered compute; "
            "compile its steps with task.jit"
        )
      if config["prequential"] == "online":
        prequential_result = self._online_result(training_task)

      # Always continue from the checkpointed state, so an interrupted and an uninterrupted run
      # take the same path.
      checkpoints.save_tree(ckpt_dir / f"state_{position}", new_state)
      _crash_point(f"after_state:{position}")
      state = checkpoints.load_tree(ckpt_dir / f"state_{position}")

      eval_positions = [j for j in range(position) if j not in skipped] if config["evaluate_past"] else []
      eval_positions.append(position)
      eval_events = []
      for j in eval_positions:
        eval_events.append(self._evaluate(learner, state, tasks[j], j, position, eval_split))
      eval_flops = sum(e.pop("_eval_flops") for e in eval_events)
      _crash_point(f"after_eval:{position}")

      flops_now = self.meter.totals.flops
      train_event = dict(
          event="train",
          position=position,
          task=task.info.name,
          after_position=position,
          train_examples=len(train),
          train_flops=train_flops,
          cumulative_train_flops=flops_now["train"],
          prequential_flops=flops_now["prequential"] - before["prequential"],
          eval_flops=eval_flops,
          wall_time_s=time.perf_counter() - task_started,
          parameter_count=_parameter_count(state),
          info=training_task.notes,
          **(prequential_result or {"prequential": "off"}),
      )
      store.record_task([train_event] + eval_events, meta={"meter": self.meter.totals.as_dict()})
      _crash_point(f"after_record:{position}")
      shutil.rmtree(task_dir, ignore_errors=True)
      for old in ckpt_dir.glob("state_*"):
        if old.name != f"state_{position}":
          shutil.rmtree(old, ignore_errors=True)
      task_bar.update(1)
    task_bar.close()

  # ------------------------------------------------------------------------------------------------
  def _learner_splits(self, task: Task) -> tuple[DataView, DataView]:
    info = task.info
    train = task.load_split("train")
    cap = self.config["max_train_per_class"]
    if cap:
      train = train.subset(cap_per_class(train.labels, cap, info.multi_label, seed=self.config["seed"]))
    dev = task.load_split("dev")
    dev_cap = self.config["max_dev_per_class"]
    if dev_cap:
      dev = dev.subset(cap_per_class(dev.labels, dev_cap, info.multi_label, seed=self.config["seed"] + 1))
    return DataView(train, info.num_classes, info.multi_label), DataView(dev, info.num_classes, info.multi_label)

  def _training_task(self, task, train, dev, key, folder, online=None) -> TrainingTask:
    if online is None and self.config["prequential"] == "online":
      online = OnlineRecorder(train.labels, task.info.num_classes, task.info.multi_label)
    return TrainingTask(
        info=task.info,
        train=train,
        dev=dev,
        rng=key,
        jit=self.meter.jit,
        progress=TqdmProgress(position=1, enabled=self.progress),
        checkpoint=checkpoints.RunnerCheckpointHook(
            folder, self.config["checkpoint_every_steps"], self.meter, online=online
        ),
        online_prequential=online,
    )

  @contextlib.contextmanager
  def _timed(self):
    started = time.perf_counter()
    try:
      yield
    finally:
      self.timings.learner_s += time.perf_counter() - started

  # ------------------------------------------------------------------------------------------------
  def _predict(self, learner: Learner, state, task: Task, images: np.ndarray) -> np.ndarray:
    """Logits for every image, in fixed-size batches (one compiled shape), checked."""
    info = task.info
    prediction_task = PredictionTask(info, self.meter.jit)
    outputs = []
    for batch in padded_batches(images, None, self.config["eval_batch_size"]):
      with self._timed():
        logits = np.asarray(learner.predict(prediction_task, state, batch["images"]))
      expected = (len(batch["images"]), info.num_classes)
      if logits.shape != expected:
        raise LearnerError(
            f"learner {self.config['learner']!r} returned scores of shape {logits.shape} for task "
            f"{info.name!r}; expected {expected} (batch, classes)"
        )
      outputs.append(logits[batch["mask"]])
    logits = np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0, info.num_classes), np.float32)
    if not np.all(np.isfinite(logits)):
      raise LearnerError(
          f"learner {self.config['learner']!r} returned NaN or infinite scores for task {info.name!r}; "
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
    buffer = _npz_bytes(logits=logits, labels=np.asarray(split.labels))
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
    if self.config["prequential"] != "blockwise":
      return None
    info = task.info
    order = np.random.default_rng([self.config["seed"], 7, len(train)]).permutation(len(train))
    ordered = train.subset(order)
    bounds = preq_lib.chunk_boundaries(len(ordered), first_chunk=self.config["prequential_first_chunk"])
    progress_file = task_dir / "prequential.json"
    done: list[float] = []
    if progress_file.exists():
      saved = json.loads(progress_file.read_text())
      done = saved["chunk_nats"]
      self.meter.totals = MeterTotals.from_dict(saved["meter"])
    for s in range(len(done), len(bounds) - 1):
      prefix = ordered.subset(np.arange(bounds[s]))
      sub_task = self._training_task(task, prefix, dev, jax.random.fold_in(key, 1000 + s), task_dir / f"preq_{s}")
      with self.meter.charging("prequential"), self._timed():
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
      _crash_point(f"after_chunk:{position}:{s}")
    first = bounds[0] if bounds else 0
    nats = preq_lib.uniform_nats_per_example(info.num_classes, info.multi_label) * first + float(sum(done))
    return {"prequential": "blockwise", "chunk_boundaries": bounds, **_preq_report(nats, len(ordered), info)}

  def _online_result(self, training_task: TrainingTask) -> dict:
    recorder: OnlineRecorder = training_task.online_prequential
    nats = recorder.code_length_nats()
    if nats is None:
      raise LearnerError(
          f"learner {self.config['learner']!r} does not report online prequential scores "
          f"(task.online_prequential.record); use prequential: blockwise"
      )
    info = training_task.info
    return {"prequential": "online", **_preq_report(nats, len(training_task.train), info)}


def _crash_point(name: str) -> None:
  """Fault injection for the resume tests: NEVIS_TEST_CRASH_AT=<name> kills the process here."""
  if os.environ.get("NEVIS_TEST_CRASH_AT") == name:
    os.kill(os.getpid(), signal.SIGKILL)


def _preq_report(nats: float, n: int, info) -> dict:
  r = preq_lib.report(nats, n, info.num_classes, multi_label=info.multi_label)
  return {k: r[k] for k in ("preq_nats", "preq_bits", "preq_bits_per_example", "preq_ratio")}


class OnlineRecorder:
  """Online prequential code: each training example is scored by the learner before it trains on it.

  The learner calls `record(batch, logits, trial=i)` with logits computed before the update on that
  batch; labels come from the harness's own copy. Only an example's first appearance in a trial
  counts. The code length is that of the best trial (choosing among H trials costs log H more nats,
  which is ignored and documented).
  """

  def __init__(self, labels: np.ndarray, num_classes: int, multi_label: bool):
    self._labels = np.asarray(labels)
    self._multi = multi_label
    self._n = len(labels)
    self._seen: dict[Any, np.ndarray] = {}
    self._nats: dict[Any, float] = {}

  def record(self, batch: dict, logits, trial: Any = 0) -> None:
    index = np.asarray(batch["index"])
    trial = str(trial)  # checkpoints keep keys as strings
    seen = self._seen.setdefault(trial, np.zeros(self._n, bool))
    fresh = ~seen[index]
    # An index repeated within one batch counts once.
    _, first = np.unique(index, return_index=True)
    keep = np.zeros(len(index), bool)
    keep[first] = True
    keep &= fresh
    if not keep.any():
      return
    logits = np.asarray(logits)[keep]
    nll = classification.per_example_nll(logits, self._labels[index[keep]], multi_label=self._multi)
    seen[index[keep]] = True
    self._nats[trial] = self._nats.get(trial, 0.0) + float(np.sum(nll))

  def state_dict(self) -> dict:
    trials = sorted(self._seen, key=str)
    return {
        "trials": [str(t) for t in trials],
        "seen": [self._seen[t] for t in trials],
        "nats": [self._nats.get(t, 0.0) for t in trials],
    }

  def load_state_dict(self, saved: dict) -> None:
    self._seen = {t: np.asarray(s, bool) for t, s in zip(saved["trials"], saved["seen"])}
    self._nats = {t: float(v) for t, v in zip(saved["trials"], saved["nats"])}

  def code_length_nats(self) -> float | None:
    complete = [t for t, seen in self._seen.items() if seen.all()]
    if not complete:
      return None
    return min(self._nats[t] for t in complete)


def cap_per_class(labels: np.ndarray, cap: int, multi_label: bool, seed: int) -> np.ndarray:
  """Indices keeping at most `cap` examples per class (multi-label: per positive label, greedily)."""
  rng = np.random.default_rng([seed, 11])
  order = rng.permutation(len(labels))
  if not multi_label:
    keep = []
    counts: dict[int, int] = {}
    for i in order:
      c = int(labels[i])
      if counts.get(c, 0) < cap:
        counts[c] = counts.get(c, 0) + 1
        keep.append(i)
    return np.sort(np.asarray(keep, dtype=np.int64))
  counts_arr = np.zeros(labels.shape[1], np.int64)
  keep = []
  for i in order:
    positives = labels[i].astype(bool)
    if positives.any() and np.any(counts_arr[positives] < cap):
      counts_arr[positives] += 1
      keep.append(i)
  return np.sort(np.asarray(keep, dtype=np.int64))


def _parameter_count(state) -> int:
  leaves = jax.tree_util.tree_leaves(state)
  return int(sum(np.size(x) for x in leaves if hasattr(x, "dtype") and np.issubdtype(x.dtype, np.floating)))


def _npz_bytes(**arrays) -> bytes:
  import io

  buf = io.BytesIO()
  np.savez_compressed(buf, **arrays)
  return buf.getvalue()


def _versions() -> dict:
  import importlib.metadata as md

  out = {"python": platform.python_version()}
  for name in ("nevis", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy"):
    try:
      out[name] = md.version(name)
    except md.PackageNotFoundError:
      out[name] = None
  return out


def _bar(total: int, desc: str, enabled: bool):
  from tqdm.auto import tqdm

  return tqdm(total=total, desc=desc, position=0, disable=not enabled, dynamic_ncols=True, leave=False)
