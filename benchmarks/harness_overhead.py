"""How much of a run's wall time the harness itself takes, and how many compilations a run makes.

    python benchmarks/harness_overhead.py [--learner previous] [--stream mini] [--set key=value ...]

Prints, for one run in this process:
  - harness overhead: wall time outside learner.init/train/predict, plus the harness work done inside
    them (FLOP counting at first compilation: what it adds to the call's own trace and lowering, which
    it shares; finding every call's signature and count; batch assembly by DataView); goal < 3% of wall
    time;
  - compilations: distinct signatures compiled through task.jit (goal: one per backbone and shape
    bucket, not per task), and all XLA backend compilations of the process (eager ops included).
"""
from __future__ import annotations

import argparse
import tempfile
import time

import jax

from nevis import config as config_lib, protocol
from nevis.runner import Runner


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
  batch_seconds = [0.0]
  original_batch_at = protocol.DataView.batch_at

  def timed_batch_at(self, *a, **kw):
    started = time.perf_counter()
    try:
      return original_batch_at(self, *a, **kw)
    finally:
      batch_seconds[0] += time.perf_counter() - started

  protocol.DataView.batch_at = timed_batch_at

  config = config_lib.resolve({}, args.overrides, stream=args.stream, learner=args.learner)
  with tempfile.TemporaryDirectory() as tmp:
    runner = Runner(config, f"{tmp}/run", progress=False)
    started = time.perf_counter()
    runner.run()
    wall = time.perf_counter() - started
    from nevis.report import load_results

    results = load_results(f"{tmp}/run")
  t = runner.timings
  learner_compute = t.learner_s - t.flop_counting_s - batch_seconds[0]
  harness = wall - learner_compute
  summary = results.summary()
  print(f"run: {args.learner} on {args.stream}, {summary['num_tasks']} tasks, mean error {summary['mean_error']:.4f}, "
        f"training FLOPs {summary['total_train_flops']:.4g}")
  print(f"wall time                      {wall:8.2f} s")
  print(f"  inside the learner           {learner_compute:8.2f} s")
  print(f"  harness, outside the learner {wall - t.learner_s:8.2f} s  (data loading, evaluation scoring, "
        "checkpoints, results)")
  meter = runner.meter
  print(f"  harness, FLOP metering       {t.flop_counting_s:8.2f} s  (counting new signatures "
        f"{meter.count_seconds:.2f} s, per-call lookup {meter.lookup_seconds:.2f} s over "
        f"{meter.totals.calls} calls)")
  print(f"  harness, batch assembly      {batch_seconds[0]:8.2f} s")
  print(f"harness share of wall time     {100 * harness / wall:8.2f} %   (goal < 3%)")
  print(f"compiled signatures (task.jit) {runner.meter.signatures:8d}     for {summary['num_tasks']} tasks")
  print(f"XLA backend compilations       {len(backend_compiles):8d}     (all, eager ops included; "
        f"{sum(backend_compiles):.1f} s)")


if __name__ == "__main__":
  main()
