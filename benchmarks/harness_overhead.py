"""How much of a run's wall time the harness itself takes, and how many compilations a run makes.

    python benchmarks/harness_overhead.py [--learner previous] [--stream mini] [--set key=value ...]

Prints, for one run in this process:
  - harness overhead (goal < 3% of wall time), the sum of
    - wall time outside learner.init/train/predict (data loading, evaluation scoring, checkpoints, results);
    - harness work inside those calls that holds the learner up: FLOP counting at first compilation (what it
      adds to the call's own trace and lowering, which it shares) and within-task checkpoint saves, at their
      wall time;
    - harness work that runs while the learner's dispatched computations execute, at its CPU time: finding
      every call's signature and count, and batch assembly by `DataView` on the learner's thread (their wall
      time there is mostly the thread waiting for a core the learner's own XLA threads hold: printed, not
      charged), and the learner state's checkpoint, written on a thread of its own while the learner is
      scored (CPU of a write and read-back, measured after the run with nothing else running);
    CPU time is an upper bound of what such work costs the learner on an idle machine (it runs beside XLA's
    threads, which do not keep every core busy);
  - compilations: distinct signatures compiled through task.jit (goal: one per backbone and shape
    bucket, not per task), and all XLA backend compilations of the process (eager ops included).
Run it on an idle machine; under load every figure stretches, and the harness share with them.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import jax

from nevis import checkpoints, config as config_lib, meter as meter_lib, protocol
from nevis.runner import Runner


class Timed:
  """Wall and thread-CPU seconds spent in a function, patched in place on its owner."""

  def __init__(self, owner, name: str):
    self.wall = self.cpu = 0.0
    self.calls = 0
    original = getattr(owner, name)

    def timed(*args, **kwargs):
      started, cpu_started = time.perf_counter(), time.thread_time()
      try:
        return original(*args, **kwargs)
      finally:
        self.wall += time.perf_counter() - started
        self.cpu += time.thread_time() - cpu_started
        self.calls += 1

    setattr(owner, name, timed)


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--learner", default="previous")
  parser.add_argument("--stream", default="mini")
  parser.add_argument("--set", dest="overrides", action="append", default=[])
  args = parser.parse_args()

  backend_compiles = []
  jax.monitoring.register_event_duration_secs_listener(
      lambda event, duration, **kw: backend_compiles.append(duration) if "backend_compile" in event else None
  )
  lookup = Timed(meter_lib.flops_lib, "signature_key")  # what the meter's per-call lookup spends, but the dict
  batches = Timed(protocol.DataView, "batch_at")
  in_task_saves = Timed(checkpoints.RunnerCheckpointHook, "save")
  background = Timed(checkpoints.BackgroundSave, "__init__")
  read_backs = []
  _count_read_backs(read_backs)
  waits = Timed(checkpoints.BackgroundSave, "result")

  config = config_lib.resolve({}, args.overrides, stream=args.stream, learner=args.learner)
  load = os.getloadavg()
  with tempfile.TemporaryDirectory() as tmp:
    runner = Runner(config, f"{tmp}/run", progress=False)
    started, cpu_started = time.perf_counter(), time.process_time()
    runner.run()
    wall = time.perf_counter() - started
    process_cpu = time.process_time() - cpu_started
    from nevis.report import load_results

    results = load_results(f"{tmp}/run")
    save_cpu, load_cpu = _save_cpu(f"{tmp}/run/checkpoints", tmp)
    background_cpu = background.calls * save_cpu + sum(read_backs) * load_cpu
  t, meter = runner.timings, runner.meter
  inside = (meter.count_seconds, in_task_saves.wall)
  concurrent = (lookup.cpu, batches.cpu, background_cpu)
  learner_compute = t.learner_s - meter.count_seconds - meter.lookup_seconds - batches.wall - in_task_saves.wall
  harness = wall - t.learner_s + sum(inside) + sum(concurrent)
  summary = results.summary()
  print(f"run: {args.learner} on {args.stream}, {summary['num_tasks']} tasks, mean error {summary['mean_error']:.4f}, "
        f"training FLOPs {summary['total_train_flops']:.4g}; load average {load[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after")
  print(f"wall time                      {wall:8.2f} s   (process CPU {process_cpu:.1f} s)")
  print(f"  inside the learner           {learner_compute:8.2f} s")
  print(f"  harness, outside the learner {wall - t.learner_s:8.2f} s  (data loading, evaluation scoring, "
        "checkpoints, results)")
  print(f"  harness, FLOP counting       {meter.count_seconds:8.2f} s  (new signatures, at first compilation)")
  print(f"  harness, in-task checkpoints {in_task_saves.wall:8.2f} s  ({in_task_saves.calls} saves)")
  print(f"  harness, per-call lookup     {lookup.cpu:8.2f} s  CPU over {meter.totals.calls} calls (wall clock "
        f"{meter.lookup_seconds:.2f} s)")
  print(f"  harness, batch assembly      {batches.cpu:8.2f} s  CPU over {batches.calls} batches (wall clock "
        f"{batches.wall:.2f} s)")
  print(f"  harness, state checkpoints   {background_cpu:8.2f} s  CPU of {background.calls} writes and "
        f"{sum(read_backs)} read-backs beside scoring (and {waits.wall:.2f} s waiting for them, outside the learner)")
  print(f"harness share of wall time     {100 * harness / wall:8.2f} %   (goal < 3%)")
  wall_clock = wall - t.learner_s + meter.count_seconds + meter.lookup_seconds + batches.wall
  print(f"  the same by wall clock only  {100 * wall_clock / wall:8.2f} %   (lookup and batches at wall clock, "
        "in-task checkpoints and state writes not counted: this script's figure before issue 16)")
  print(f"compiled signatures (task.jit) {meter.signatures:8d}     for {summary['num_tasks']} tasks")
  print(f"XLA backend compilations       {len(backend_compiles):8d}     (all, eager ops included; "
        f"{sum(backend_compiles):.1f} s)")


def _count_read_backs(read_backs: list) -> None:
  original = checkpoints.BackgroundSave.__init__

  def init(self, path, tree, *, read_back: bool = True):
    read_backs.append(read_back)
    original(self, path, tree, read_back=read_back)

  checkpoints.BackgroundSave.__init__ = init


def _save_cpu(folder: str, scratch: str, repeats: int = 3) -> tuple[float, float]:
  """Process CPU seconds of writing, and of reading back, the run's last learner state (medians of `repeats`),
  measured with nothing else running."""
  found = checkpoints.latest(folder, "state_")
  if found is None:
    return 0.0, 0.0
  state = checkpoints.load_tree(found[1])
  saves, loads = [], []
  for i in range(repeats):
    started = time.process_time()
    checkpoints.save_tree(f"{scratch}/calibration_{i}", state)
    saves.append(time.process_time() - started)
    started = time.process_time()
    checkpoints.load_tree(f"{scratch}/calibration_{i}")
    loads.append(time.process_time() - started)
  return sorted(saves)[len(saves) // 2], sorted(loads)[len(loads) // 2]


if __name__ == "__main__":
  main()
