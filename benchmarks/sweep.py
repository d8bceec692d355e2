"""Runs per hour of `nevis sweep` with 1 and 2 workers, for each executor, measured in one go.

    python benchmarks/sweep.py [--runs 8] [--executors local ray] [--workers 1 2] [--set key=value ...]

Each measurement is a whole `nevis sweep` command in a fresh folder (a subprocess, as a user runs it: for
`ray`, starting and stopping the local Ray is included), over the same tiny runs (linear on mini, two tasks,
ten steps by default: the executor's own cost is a large part of each). The data is prepared before the first
measurement. Prints runs/hour of each (executor, workers), then the ratios: 2 workers over 1 for each
executor (parallel speed-up), and Ray's time over local's for each worker count (Ray's overhead; below 1:
Ray is faster, as it keeps its worker processes from run to run where `local` starts a fresh one per run).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = {"stream": "mini", "learner": "linear", "max_tasks": 2,
        "learner_options": {"image_size": 8, "l2_values": [0.001], "num_steps": 10, "batch_size": 32}}


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--runs", type=int, default=8, help="runs per sweep (seeds 0..runs-1 of one config)")
  parser.add_argument("--executors", nargs="+", default=["local", "ray"], choices=["local", "ray"])
  parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
  parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="change the base run config (dotted keys, values as YAML)")
  args = parser.parse_args()

  import yaml

  base = json.loads(json.dumps(BASE))
  for text in args.overrides:
    key, value = text.split("=", 1)
    *parents, last = key.split(".")
    target = base
    for part in parents:
      target = target.setdefault(part, {})
    target[last] = yaml.safe_load(value)
  with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    env = dict(os.environ, NEVIS_DATA_DIR=os.environ.get("NEVIS_DATA_DIR", str(tmp / "data")))
    (tmp / "warm.yaml").write_text(json.dumps({"base": base, "seeds": [0]}))
    (tmp / "sweep.yaml").write_text(json.dumps({"base": base, "seeds": list(range(args.runs))}))
    _sweep(tmp / "warm.yaml", tmp / "warm", "local", 1, env)  # prepares the data; not measured
    seconds = {}
    for executor in args.executors:
      for workers in args.workers:
        seconds[executor, workers] = _sweep(tmp / "sweep.yaml", tmp / f"{executor}-{workers}", executor, workers, env)
        print(f"{executor:5s} workers={workers}: {args.runs} runs in {seconds[executor, workers]:6.1f} s = "
              f"{args.runs / seconds[executor, workers] * 3600:7.0f} runs/hour", flush=True)
  one, *more = args.workers
  for executor in args.executors:
    for workers in more:
      print(f"{executor:5s} speed-up, workers {workers} over {one}: "
            f"{seconds[executor, one] / seconds[executor, workers]:.2f}x")
  if set(args.executors) == {"local", "ray"}:
    for workers in args.workers:
      print(f"ray time / local time, workers={workers}: {seconds['ray', workers] / seconds['local', workers]:.2f}")
  load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
  print(f"cores: {len(os.sched_getaffinity(0))}; load average at the end (1, 5, 15 min): {load} (other processes "
        f"on the machine slow every figure); base config: {json.dumps(base)}")


def _sweep(file: Path, folder: Path, executor: str, workers: int, env: dict) -> float:
  started = time.perf_counter()
  done = subprocess.run([sys.executable, "-m", "nevis.cli", "sweep", str(file), "--workdir", str(folder),
                         "--executor", executor, "--workers", str(workers)], cwd=ROOT, env=env, capture_output=True,
                        text=True)
  seconds = time.perf_counter() - started
  if done.returncode != 0:
    sys.exit(f"sweep failed ({executor}, {workers} workers):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
  return seconds


if __name__ == "__main__":
  main()
