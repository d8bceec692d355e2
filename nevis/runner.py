"""The runner: a loop over the stream's tasks that trains, scores, meters, checkpoints and records.

The path of one task:
  stream factory -> Task (metadata + split loader) -> the learner's train/dev views (`nevis.sampling`)
  -> evaluators that score before training (blockwise prequential, `nevis.prequential`) -> learner.train
  -> the learner's state checkpointed and read back (`nevis.states`) -> evaluators that score after
  training (online prequential; the held-out split, `nevis.evaluation`) -> one transaction records the
  task's events (`nevis.results`). A run killed anywhere resumes from the last finished task (or the
  learner's last within-task checkpoint) and produces the same numbers.

The learner is built once, before the workdir is touched, and called only through `nevis.learner_calls`
(the compute guard, per-task resources, its own errors as one line). A run that fails records why
(`nevis.failures`); the workdir is never deleted (`nevis.workdir`). Whoever watches (the progress display,
`events.jsonl`, the config's loggers) is told as things happen (`nevis.observers`); watching never changes
what is recorded.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import jax

from nevis import (
  config as config_lib,
  failures,
  guard,
  loggers as loggers_lib,
  preflight,
  pretraining,
  results as results_lib,
)
from nevis.config import RunConfig
from nevis.errors import ConfigError, UserError
from nevis.evaluation import CurrentTask, Evaluator, HeldOutEvaluator, Scores
from nevis.events_log import EventsLog
from nevis.learner_calls import LearnerCalls, RunTimings
from nevis.meter import ComputeMeter
from nevis.observers import RunObservers, RunStart, TaskEnd, task_scalars
from nevis.prequential import BlockwisePrequential, OnlinePrequential
from nevis.progress import display
from nevis.protocol import InitContext, Learner
from nevis.resources import ResourceMeter
from nevis.results import ResultsStore
from nevis.run_support import build_learner, build_stream, crash_point, parameter_count, versions
from nevis.sampling import learner_views
from nevis.states import LearnerStates
from nevis.stream import Stream
from nevis.task import Task
from nevis.workdir import WorkdirLock, clean_leftovers, discard_if_unused, new_workdir, open_workdir

__all__ = ["Runner", "RunTimings"]


class Runner:
  def __init__(self, config: RunConfig | dict, workdir: str | Path | None = None, *, resume: bool = False,
               progress: bool | str = True, runs_root: str | Path = "runs", redo_last_task: bool = False):
    """`progress`: "bar", "plain" or "none" (`nevis.progress`); True: bars on a terminal, plain lines
    elsewhere; False: none."""
    self.config = config if isinstance(config, RunConfig) else RunConfig.parse(config, owner="config")
    self.workdir = Path(workdir) if workdir is not None else None  # None: a new folder under runs_root
    self.runs_root = Path(runs_root)
    self.resume = resume
    self.redo_last_task = redo_last_task
    self.progress = progress
    self.timings = RunTimings()
    self.meter = ComputeMeter()
    self.meter.budget = self.config.compute_budget  # enforced by the meter (nevis.budget)
    self.resources = ResourceMeter()
    self.calls = LearnerCalls(self.config.learner, self.meter, self.resources, self.timings,
                              eval_batch_size=self.config.eval_batch_size,
                              checkpoint_every_steps=self.config.checkpoint_every_steps)
    self.notices: list[str] = []  # for the user: missing prediction files, a finished run resumed
    self.stopped: str | None = None  # "failed" or "interrupted" once recorded in the results
    self.pretraining: dict | None = None  # the compute of the runs the learner starts from (nevis.pretraining)
    self._current: tuple[int | None, str | None] = (None, None)  # the task being worked on
    self.observers = RunObservers([])

  # ------------------------------------------------------------------------------------------------
  def run(self) -> Path:
    started = time.perf_counter()
    config = self.config
    # Everything that can be wrong with the input is checked before the workdir is touched.
    stream = build_stream(config)
    tasks = list(stream.tasks)[: config.max_tasks] if config.max_tasks else list(stream.tasks)
    if not tasks:
      raise ConfigError(f"stream {config.stream!r} has no tasks with these options")
    logger_classes = loggers_lib.resolve(config.loggers)
    with guard.session(self.meter.charge_guarded):
      with self.calls.code("construction", into=self.resources.setup):
        learner = build_learner(config)
      self.pretraining = pretraining.source_compute(learner)
      skipped = preflight.check_data(stream, tasks, config)
      if self.workdir is None:
        self.workdir, created = new_workdir(self.runs_root, f"{config.learner}-{config.stream}"), True
      else:
        created = open_workdir(self.workdir, resume=self.resume)
      try:
        self._run_in_workdir(stream, learner, tasks, skipped, logger_classes)
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

  def _run_in_workdir(self, stream: Stream, learner: Learner, tasks: list[Task], skipped: set[int],
                      logger_classes: list) -> None:
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
        self._watch(store, tasks, logger_classes)
        try:
          self._run_tasks(store, learner, tasks, skipped)
        except BaseException as error:
          if failures.record(store, *self._current, error):
            self.stopped = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
          self.observers.run_finished("interrupted" if isinstance(error, KeyboardInterrupt) else "failed",
                                      failures.one_line(error))
          raise
        setup = self.resources.setup  # construction and init, in this process
        store.set_meta({"status": "complete", "failure": None, "compilations": self.meter.signatures,
                        "host_peak_scope": self.resources.scope(),
                        "learner_setup": {"wall_s": setup.learner_wall_s, "cpu_s": setup.learner_cpu_s}})
        self.observers.run_finished("complete", None)
      finally:
        self.observers.close()
        store.close(quiet=True)  # a full disk must not hide the error that stopped the run

  def _finished(self, db: Path) -> bool:
    """`--resume` of a finished run: nothing to do, and nothing is written (its config must still match)."""
    meta = results_lib.read_meta(db)
    if meta.get("status") != "complete":
      return False
    self._check_config(meta.get("config") or {})
    self.notices.append(f"the run in {self.workdir} is complete; nothing to resume")
    return True

  def _check_config(self, stored: dict) -> None:
    diffs = config_lib.differences(config_lib.complete(stored),
                                   json.loads(json.dumps(self.config.as_dict(), default=str)))
    if diffs:
      raise UserError(
          f"--resume with a changed config ({'; '.join(diffs)}); resume with the original config or use a new --workdir"
      )

  def _start(self, store: ResultsStore, stream: Stream, tasks: list[Task]) -> None:
    stored = store.get_meta("config")
    if stored is None:
      if store.completed_positions():
        raise UserError(f"{self.workdir} holds results without a config; use a new --workdir")
      store.set_meta({"config": self.config.as_dict(), "seed": self.config.seed, "stream": stream.name,
                      "versions": versions(), "status": "running", pretraining.META_KEY: self.pretraining})
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

  def _watch(self, store: ResultsStore, tasks: list[Task], logger_classes: list) -> None:
    """The run's observers: the progress display, events.jsonl and the config's loggers."""
    config = json.loads(json.dumps(self.config.as_dict(), default=str))
    completed = store.completed_positions()
    observers = [w for w in (display(self.progress), EventsLog(self.workdir)) if w is not None]
    loggers = loggers_lib.start(logger_classes, self.workdir, config, resumed=self.resume)
    if loggers:
      observers.append(loggers_lib.LoggersObserver(loggers))
    self.observers = RunObservers(observers)  # closed by the caller however the run ends
    self.calls.progress_for = self.observers.learner_progress
    self.observers.run_started(RunStart(str(self.workdir), config, tuple(t.info for t in tasks), len(completed),
                                        self.resume, int(store.get_meta("learner_steps") or 0)))

  # ------------------------------------------------------------------------------------------------
  def _run_tasks(self, store: ResultsStore, learner: Learner, tasks: list[Task], skipped: set[int]) -> None:
    """The loop: every task not recorded yet, in stream order, from the state after the last recorded one."""
    self._root_key = jax.random.PRNGKey(self.config.seed)
    context = InitContext(jax.random.fold_in(self._root_key, 2**20), self.meter.learner_jit,
                          tuple(t.info for t in tasks))
    with self.calls.code("init", into=self.resources.setup):
      state = learner.init(context)
    states = LearnerStates(self.workdir, self.config.learner)
    states.remove_task_folders(store.completed_positions())
    state = states.restore(store, tasks, state, self.meter, redo_last_task=self.redo_last_task)
    evaluators = self._evaluators(learner, tasks, skipped)
    done = store.completed_positions()
    for position, task in enumerate(tasks):
      if position in done:
        continue
      self._current = (position, task.info.name)
      if position in skipped:
        reason = "data not prepared"
        store.record_task([dict(event="skip", position=position, task=task.info.name, after_position=position,
                                info={"reason": reason})])
        self.observers.task_skipped(position, task.info, reason)
      else:
        self.observers.task_started(position, task.info)
        state = self._run_task(store, learner, evaluators, states, position, task, state)
    self._current = (None, None)

  def _evaluators(self, learner: Learner, tasks: list[Task], skipped: set[int]) -> list[Evaluator]:
    config, chosen = self.config, []
    if config.prequential == "blockwise":
      chosen.append(BlockwisePrequential(learner, self.calls, self.meter, seed=config.seed,
                                         first_chunk=config.prequential_first_chunk))
    elif config.prequential == "online":
      chosen.append(OnlinePrequential(config.learner))
    chosen.append(HeldOutEvaluator(learner, self.calls, self.meter, self.workdir, split=config.evaluate_on,
                                   evaluate_past=config.evaluate_past, tasks=tasks, skipped=skipped))
    return chosen

  def _run_task(self, store: ResultsStore, learner: Learner, evaluators: list[Evaluator], states: LearnerStates,
                position: int, task: Task, state):
    """One task: score, train, checkpoint, score, record; returns the state the next task starts from."""
    task_started = time.perf_counter()
    self.resources.start_task()
    self.meter.totals.helper = {}
    self.meter.start_task()
    allowance = self.meter.allowance()
    current = CurrentTask(position, task, *learner_views(task, self.config),
                          key=jax.random.fold_in(self._root_key, position), folder=states.task_folder(position))
    before = self.meter.totals.as_dict()
    scores = [e.run(current, state) for e in evaluators if e.before_training]
    online = OnlinePrequential.recorder(current) if self.config.prequential == "online" else None
    current.training = self.calls.training_task(current.task.info, current.train, current.dev, current.key,
                                                current.folder / "train", online)
    new_state = self.calls.train(learner, current.training, state, charge="train")
    train_flops = self.meter.totals.flops["train"] - before["flops"]["train"]
    state, after = states.checkpoint_while(current.position, current.task, new_state, self.meter,
                                           lambda state: [e.run(current, state) for e in evaluators
                                                          if not e.before_training])
    scores += after
    crash_point(f"after_eval:{current.position}")
    events = self._task_events(current, state, scores, before, train_flops, task_started)
    if allowance is not None:  # the budget this task's training had, and whether it refused a call
      events[0].update(budget_flops=allowance,
                       budget_bound=int(self.meter.totals.refused["train"] > before["refused"]["train"]))
    store.record_task(events, meta={"meter": self.meter.totals.as_dict(), "learner_steps": self.observers.learner_step})
    self.observers.task_finished(TaskEnd(current.position, current.task.info, task_scalars(events, current.position)))
    crash_point(f"after_record:{current.position}")
    states.recorded(current.position)
    return state

  def _task_events(self, current: CurrentTask, state, scores: list[Scores], before: dict, train_flops: float,
                   task_started: float) -> list[dict]:
    """The task's train event (its compute, resources and scores) followed by the evaluators' events."""
    totals = self.meter.totals
    used = self.resources.finish_task()
    fields = {"prequential": "off"}
    for score in scores:
      fields.update(score.fields)
    train_event = dict(
        event="train",
        position=current.position,
        task=current.task.info.name,
        after_position=current.position,
        train_examples=len(current.train),
        train_flops=train_flops,
        cumulative_train_flops=totals.flops["train"],
        prequential_flops=totals.flops["prequential"] - before["flops"]["prequential"],
        eager_flops=totals.eager_flops - before["eager_flops"],
        unmetered=totals.helper or None,
        meter_totals=totals.as_dict(),
        wall_time_s=time.perf_counter() - task_started,
        parameter_count=parameter_count(state),
        info=current.training.notes,
        **used.as_row(),
        **fields,
    )
    return [train_event] + [event for score in scores for event in score.events]
