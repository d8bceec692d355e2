"""Run by tests/learners/test_data_parallel.py in a process with two CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2); prints one JSON object of what it measured.

  placement   how DataParallel placed a batch of 16 and a model, and when it placed nothing
  meter       FLOPs the harness charged for one call of x @ w on a batch split over both devices, and on one
  runs        the same `previous` run with data_parallel on (both devices) and off (one device): its results
  prequential_runs  the same, selecting by prequential code length (its fits are data-parallel too)
"""
from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

from nevis.learners.data_parallel import DataParallel
from nevis.meter import ComputeMeter
from nevis.runner import Runner

LEARNER_OPTIONS = {"width": 4, "blocks_per_stage": [1], "image_size": 8, "num_steps": 6, "min_steps": 0,
                   "learning_rates": [0.05, 0.2], "eval_every_steps": 2, "min_batch": 16, "max_batch": 16,
                   "eval_batch_size": 16}


def placement() -> dict:
  two = DataParallel.for_batch(16)
  batch = two.shard(np.arange(16 * 3, dtype=np.float32).reshape(16, 3))
  model = two.replicate({"w": np.ones((3, 2), np.float32)})
  local = two.local(model)
  return {
      "devices": two.devices,
      "batch_shards": sorted([s.device.id, list(s.data.shape), float(s.data[0, 0])] for s in batch.addressable_shards),
      "model_shards": sorted([s.device.id, list(s.data.shape)] for s in model["w"].addressable_shards),
      "local_devices": len(local["w"].devices()),
      "uneven_devices": DataParallel.for_batch(15).devices,
      "disabled_devices": DataParallel.for_batch(16, enabled=False).devices,
  }


def meter() -> dict:
  def product(x, w):
    return x @ w

  two = DataParallel.for_batch(16)
  x, w = np.ones((16, 8), np.float32), np.ones((8, 4), np.float32)
  out = {}
  for name, args in (("sharded", (two.shard(x), two.replicate(w))), ("one_device", (x, w))):
    charged = ComputeMeter()
    result = charged.jit(product)(*args)
    out[name] = {"flops": charged.totals.flops["train"], "result_devices": len(result.devices())}
  return out


def run(data_parallel: bool, workdir: Path, **options) -> dict:
  config = {"stream": "synthetic", "stream_options": {"num_tasks": 2, "examples_per_class": 12},
            "learner": "previous", "learner_options": {**LEARNER_OPTIONS, "data_parallel": data_parallel, **options},
            "eval_batch_size": 16, "checkpoint_every_steps": 4}
  Runner(config, workdir, progress=False).run()
  with sqlite3.connect(workdir / "results.sqlite") as conn:
    trained = conn.execute("SELECT train_flops, info FROM events WHERE event='train' ORDER BY position").fetchall()
    scored = conn.execute("SELECT error, log_loss, predictions_path FROM events WHERE event='eval' "
                          "ORDER BY position").fetchall()
  return {"train_flops": [flops for flops, _ in trained], "info": [json.loads(info) for _, info in trained],
          "error": [error for error, _, _ in scored], "log_loss": [log_loss for _, log_loss, _ in scored],
          "logits": [np.load(workdir / path)["logits"].tolist() for _, _, path in scored]}


def main() -> None:
  assert len(jax.devices()) == 2, "run with XLA_FLAGS=--xla_force_host_platform_device_count=2"
  out = {"placement": placement(), "meter": meter()}
  with tempfile.TemporaryDirectory() as tmp:
    out["runs"] = {name: run(on, Path(tmp) / name) for name, on in (("two_devices", True), ("one_device", False))}
    out["prequential_runs"] = {name: run(on, Path(tmp) / f"p-{name}", select_by="prequential", min_batch=8,
                                         max_batch=8, prequential_first_chunk=8)
                               for name, on in (("two_devices", True), ("one_device", False))}
  json.dump(out, sys.stdout)


if __name__ == "__main__":
  main()
