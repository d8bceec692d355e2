"""Where a sweep's runs execute: `local` (worker processes on this machine) or `ray` (Ray tasks).

Both run each attempt of a run with `nevis.sweep_worker.run_one`, which resumes the run's workdir when it
holds results, and both start a run again only when its worker process died (SIGKILL, out of memory, a lost
node), at most `max_retries` times; a run that fails by itself is reported, not retried.

`local`: a thread pool of `workers` threads, each driving one fresh worker process per attempt
(multiprocessing's `spawn`: the worker imports what this process imports). A process per attempt, not a
`concurrent.futures.ProcessPoolExecutor`: when one of that pool's workers dies the whole pool is broken and
every run in flight is killed with it; here a death touches only its own run, and a finished run's memory
(JAX caches, device buffers) goes back to the machine. With GPUs, worker `i` is given GPU `i mod G`; workers
that share a GPU do not preallocate its memory.

`ray`: every run is a Ray task with `num_cpus=cpus_per_run`, `num_gpus=gpus_per_run` (a fraction shares a
GPU) and Ray's own `max_retries`, which starts it again on another worker when its worker dies. A run with
a GPU gets a fresh worker process (`max_calls=1`, Ray's default for functions declared with GPUs, which
`.options` does not apply). Without an address a local Ray is started with `workers * cpus_per_run` CPUs,
so `workers` runs go at once; with `address` the cluster's resources decide.
A task reports its start through a `ray.util.queue.Queue`, so each (re)start is one line here.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import queue
import re
import sys
import threading
from pathlib import Path
from typing import Protocol

from nevis.errors import UserError
from nevis.options import Options, option
from nevis.sweep_worker import FAILED, INTERRUPTED, process_main, run_one

EXECUTORS = ("local", "ray")
_NO_PREALLOCATE = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}  # JAX takes 75 % of a GPU's memory otherwise


@dataclasses.dataclass(frozen=True)
class ExecutorConfig(Options):
  """How a sweep's runs are executed (the sweep file's `executor:`; `nevis sweep` flags win)."""

  name: str = option("local", "local: worker processes on this machine; ray: Ray tasks", choices=EXECUTORS)
  workers: int | None = option(None, "runs at once (local, and ray without address); default: one per GPU, "
                                      "else one per CPU core", minimum=1)
  address: str | None = option(None, "ray: the cluster to join (host:6379, ray://host:10001 or auto); "
                                     "null starts a local Ray")
  cpus_per_run: float = option(1.0, "ray: CPUs each run reserves", minimum=0.01)
  gpus_per_run: float = option(0.0, "GPUs each run reserves; a fraction lets runs share one GPU", minimum=0)
  max_retries: int = option(3, "times a run whose worker died is started again, from its checkpoint", minimum=0)

  def check(self) -> None:
    if self.address is not None and self.name != "ray":
      self.fail("address", "joins a Ray cluster: add --executor ray (or drop --address)")


@dataclasses.dataclass(frozen=True)
class Job:
  """One run to execute: its name, its workdir, its config (JSON values) and its log file."""

  name: str
  workdir: str
  config: dict
  log: str


class Progress(Protocol):
  """Where executors report; `at` is when it happened (time.time(); default: now)."""

  def started(self, name: str, attempt: int, continuing: bool, at: float | None = None) -> None: ...
  def died(self, name: str, why: str, again: bool) -> None: ...
  def done(self, name: str, outcome: dict, at: float | None = None) -> None: ...


def visible_gpus() -> list[str]:
  """The GPUs this process may use: CUDA_VISIBLE_DEVICES if set, else the NVIDIA device files."""
  listed = os.environ.get("CUDA_VISIBLE_DEVICES")
  if listed is not None:
    return [g.strip() for g in listed.split(",") if g.strip() and g.strip() != "-1"]
  names = os.listdir("/dev") if os.path.isdir("/dev") else []
  return sorted((n[len("nvidia"):] for n in names if re.fullmatch(r"nvidia\d+", n)), key=int)


def default_workers(config: ExecutorConfig) -> int:
  if config.workers is not None:
    return config.workers
  gpus = len(visible_gpus())
  if gpus:
    return max(1, int(gpus / config.gpus_per_run)) if config.gpus_per_run else gpus
  cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
  return max(1, int(cores / config.cpus_per_run)) if config.name == "ray" else cores


def execute(config: ExecutorConfig, jobs: list[Job], progress: Progress) -> None:
  """Runs every job; each outcome goes to `progress.done` as it arrives. KeyboardInterrupt stops them all
  (each run records itself as interrupted) and is raised again."""
  if jobs:
    (_run_ray if config.name == "ray" else _run_local)(config, jobs, progress)


# -- local ----------------------------------------------------------------------------------------------


def _run_local(config: ExecutorConfig, jobs: list[Job], progress: Progress) -> None:
  import multiprocessing

  context = multiprocessing.get_context("spawn")  # never fork a process that may hold JAX's threads
  workers = default_workers(config)
  gpus = visible_gpus()
  slots: queue.Queue = queue.Queue()
  for i in range(workers):
    environment = {}
    if gpus:
      environment["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
      if workers > len(gpus):
        environment.update(_NO_PREALLOCATE)
    slots.put(environment)
  live: dict[str, object] = {}  # name -> the process running it now
  stopping = threading.Event()
  lock = threading.Lock()

  def attempt(job: Job) -> None:
    environment = slots.get()
    try:
      for number in range(1, config.max_retries + 2):
        if stopping.is_set():
          return
        progress.started(job.name, number, continuing=_has_results(job))
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=process_main, args=(job.workdir, job.config, job.log, environment, send),
                                  name=f"nevis-sweep-{job.name}")
        with lock:  # never start a worker once the sweep is stopping
          if stopping.is_set():
            return
          process.start()
          live[job.name] = process
        send.close()
        outcome = _outcome(receive)
        process.join()
        with lock:
          live.pop(job.name, None)
        if outcome is not None:
          progress.done(job.name, outcome)
          return
        why = _death(process.exitcode)
        if stopping.is_set():
          progress.done(job.name, {"status": INTERRUPTED, "error": why})
          return
        progress.died(job.name, why, again=number <= config.max_retries)
      progress.done(job.name, {"status": FAILED, "error": f"its worker died {config.max_retries + 1} times ({why})"})
    finally:
      slots.put(environment)

  pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="nevis-sweep")
  futures = [pool.submit(attempt, job) for job in jobs]
  try:
    for future in concurrent.futures.as_completed(futures):
      future.result()
  except BaseException:
    with lock:
      stopping.set()
      for process in live.values():
        if process.is_alive():
          process.terminate()  # SIGTERM: the run records itself as interrupted, resumable
    pool.shutdown(wait=True, cancel_futures=True)
    raise
  pool.shutdown()


def _outcome(receive) -> dict | None:
  """The worker's outcome, or None when it exited without sending one (this end sees EOF when it exits)."""
  try:
    return receive.recv()
  except (EOFError, OSError):
    return None
  finally:
    receive.close()


def _death(exitcode: int | None) -> str:
  import signal

  if exitcode is not None and exitcode < 0:
    try:
      return f"its worker was killed by {signal.Signals(-exitcode).name}"
    except ValueError:
      return f"its worker was killed by signal {-exitcode}"
  return f"its worker exited with code {exitcode} without a result"


def _has_results(job: Job) -> bool:
  return (Path(job.workdir) / "results.sqlite").exists()


# -- ray ------------------------------------------------------------------------------------------------


def _ray_task(events, name: str, workdir: str, config: dict, log: str) -> dict:
  """A run as a Ray task. Its start and its outcome go through the queue, so that the driver prints them in
  the order they happened, whichever task they come from."""
  import time

  events.put(("started", name, (Path(workdir) / "results.sqlite").exists(), time.time()))
  outcome = run_one(workdir, config, log)
  events.put(("done", name, outcome, time.time()))
  return outcome


def _import_ray():
  try:
    import ray
  except ImportError:
    raise UserError("the ray executor needs Ray: pip install 'nevis[ray]' (or use --executor local)") from None
  return ray


def _run_ray(config: ExecutorConfig, jobs: list[Job], progress: Progress) -> None:
  import logging

  ray = _import_ray()
  from ray.util.queue import Queue

  environment = dict(_NO_PREALLOCATE) if 0 < config.gpus_per_run < 1 else {}
  started_here = not ray.is_initialized()
  if started_here:
    if config.address is not None:
      ray.init(address=config.address, logging_level=logging.WARNING, log_to_driver=False,
               runtime_env={"env_vars": environment})
    else:  # this machine: the workers import what this process imports
      environment["PYTHONPATH"] = os.pathsep.join(p for p in [os.getcwd(), *sys.path] if p)
      ray.init(num_cpus=default_workers(config) * config.cpus_per_run, include_dashboard=False,
               logging_level=logging.WARNING, log_to_driver=False, runtime_env={"env_vars": environment})
  try:
    events = Queue(actor_options={"num_cpus": 0})
    resources = {"num_cpus": config.cpus_per_run, "num_gpus": config.gpus_per_run}
    if config.gpus_per_run:  # a fresh worker per run: JAX binds to the GPU Ray gives the process when it starts
      resources["max_calls"] = 1
    task = ray.remote(_ray_task).options(**resources, max_retries=config.max_retries, retry_exceptions=False)
    pending = {task.remote(events, job.name, job.workdir, job.config, job.log): job for job in jobs}
    attempts: dict[str, int] = {}
    try:
      while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        gave_up = []
        for ref in ready:
          job = pending.pop(ref)
          try:
            ray.get(ref)  # the outcome itself came through the queue
          except ray.exceptions.RayError as e:
            gave_up.append((job, e))
        _report_events(events, attempts, progress)
        for job, e in gave_up:
          why = " ".join(str(e).split())[:300]
          progress.done(job.name, {"status": FAILED, "error": f"Ray gave up on it after {attempts.get(job.name, 0)} "
                                                             f"starts ({type(e).__name__}: {why})"})
    except BaseException:
      for ref in pending:
        ray.cancel(ref)  # a KeyboardInterrupt inside the task: the run records itself as interrupted
      ray.wait(list(pending), num_returns=len(pending), timeout=60)
      raise
  finally:
    if started_here:
      ray.shutdown()


def _report_events(events, attempts: dict[str, int], progress: Progress) -> None:
  size = events.qsize()
  for kind, name, detail, at in (events.get_nowait_batch(size) if size else []):
    if kind == "started":
      attempts[name] = attempts.get(name, 0) + 1
      progress.started(name, attempts[name], detail, at=at)
    else:
      progress.done(name, detail, at=at)
