"""Data parallelism on two CPU devices (XLA_FLAGS=--xla_force_host_platform_device_count=2, in a subprocess):
a batch is split over the devices and the model replicated; the meter charges the global computation once; a
`previous` run split over two devices ends where the one-device run ends, within float tolerance."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHECK = Path(__file__).with_name("data_parallel_check.py")


@pytest.fixture(scope="module")
def measured():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_DISABLE_MOST_OPTIMIZATIONS="1",
             JAX_PLATFORMS="cpu")
  done = subprocess.run([sys.executable, str(CHECK)], env=env, capture_output=True, text=True, timeout=500)
  assert done.returncode == 0, done.stderr[-3000:]
  return json.loads(done.stdout)


def test_a_batch_is_split_over_the_devices_and_the_model_copied_to_each(measured):
  p = measured["placement"]
  assert p["devices"] == 2
  # rows 0-7 on device 0, rows 8-15 (first value 8 * 3 = 24) on device 1
  assert p["batch_shards"] == [[0, [8, 3], 0.0], [1, [8, 3], 24.0]]
  assert p["model_shards"] == [[0, [3, 2]], [1, [3, 2]]]
  assert p["local_devices"] == 1
  assert p["uneven_devices"] == 1 and p["disabled_devices"] == 1  # 15 rows do not split; data_parallel: false


def test_the_meter_charges_the_global_computation_once_not_per_device(measured):
  # x (16, 8) @ w (8, 4): 16 * 4 outputs, each 8 multiplies and 8 adds = 1024 FLOPs, however it is split
  assert measured["meter"]["sharded"] == {"flops": 1024.0, "result_devices": 2}
  assert measured["meter"]["one_device"] == {"flops": 1024.0, "result_devices": 1}


@pytest.mark.parametrize("runs", ["runs", "prequential_runs"])
def test_a_run_over_two_devices_ends_where_the_one_device_run_ends(measured, runs):
  two, one = measured[runs]["two_devices"], measured[runs]["one_device"]
  assert [i.get("data_parallel_devices") for i in two["info"]] == [2, 2]
  assert [i.get("data_parallel_devices") for i in one["info"]] == [None, None]
  assert two["train_flops"] == one["train_flops"] and min(one["train_flops"]) > 0  # the same compute charged
  assert two["error"] == one["error"]
  np.testing.assert_allclose(two["log_loss"], one["log_loss"], rtol=1e-5)
  for a, b in zip(two["logits"], one["logits"]):
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-5)
  for a, b in zip(two["info"], one["info"]):  # the same trial chosen, on scores equal within float tolerance
    assert a["selection"]["selected"] == b["selection"]["selected"]
    score = "dev_log_loss" if runs == "runs" else "code_length_nats"
    np.testing.assert_allclose(a["selection"][score], b["selection"][score], rtol=1e-5)
