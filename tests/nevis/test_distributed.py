"""One run over two processes on localhost (jax.distributed, CPU collectives over TCP): the data-parallel steps
of `previous` span both processes, and the task ends as it does in one process, within float tolerance."""
import contextlib
import json
import socket
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from nevis import distributed
from nevis.errors import UserError
from nevis.results import MACHINE_COLUMNS

from .subprocess_env import ROOT, subprocess_env

RUN = [
    "run", "--stream", "synthetic", "--learner", "previous",
    "--set", "stream_options={num_tasks: 1, examples_per_class: 12}",
    "--set", "learner_options={width: 4, blocks_per_stage: [1], image_size: 8, num_steps: 6, min_steps: 0, "
    "learning_rates: [0.05, 0.2], eval_every_steps: 2, min_batch: 16, max_batch: 16, eval_batch_size: 16}",
    "--set", "eval_batch_size=16", "--set", "checkpoint_every_steps=4", "--no-progress", "--no-plot",
]
CLUSTER_VARIABLES = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID", "SLURM_NTASKS",
                     "OMPI_COMM_WORLD_SIZE", "NEVIS_DISTRIBUTED")


@pytest.fixture
def no_cluster(monkeypatch):
  for name in CLUSTER_VARIABLES:
    monkeypatch.delenv(name, raising=False)
  return monkeypatch


def test_a_run_is_multi_process_only_when_its_environment_says_so(no_cluster):
  assert not distributed.requested() and distributed.initialize() == (0, 1)
  no_cluster.setenv("SLURM_NTASKS", "1")
  assert not distributed.requested()  # a one-task job step
  no_cluster.setenv("SLURM_NTASKS", "4")
  assert distributed.requested()
  no_cluster.setenv("NEVIS_DISTRIBUTED", "off")
  assert not distributed.requested()
  no_cluster.delenv("NEVIS_DISTRIBUTED")
  no_cluster.delenv("SLURM_NTASKS")
  no_cluster.setenv("OMPI_COMM_WORLD_SIZE", "2")
  assert distributed.requested()


def test_an_incomplete_explicit_setting_is_one_line(no_cluster):
  no_cluster.setenv("JAX_COORDINATOR_ADDRESS", "localhost:1234")
  with pytest.raises(UserError, match="JAX_NUM_PROCESSES, JAX_PROCESS_ID not set"):
    distributed.initialize()
  no_cluster.setenv("JAX_NUM_PROCESSES", "two")
  no_cluster.setenv("JAX_PROCESS_ID", "0")
  with pytest.raises(UserError, match="must be integers"):
    distributed.initialize()


def test_each_process_records_beside_the_first():
  assert distributed.process_workdir("runs/a", 0) == "runs/a"
  assert str(distributed.process_workdir("runs/a", 3)) == "runs/a.process-3"
  assert distributed.process_workdir(None, 1) is None


def free_port() -> int:
  with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def start(workdir, extra_env):
  env = subprocess_env({"JAX_PLATFORMS": "cpu", "JAX_DISABLE_MOST_OPTIMIZATIONS": "1", **extra_env})
  for name in list(env):
    if name in CLUSTER_VARIABLES or name.lower().endswith("_proxy"):
      del env[name]
  env.update(extra_env)
  return subprocess.Popen([sys.executable, "-m", "nevis.cli", *RUN, "--workdir", str(workdir)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(workdir):
  with contextlib.closing(sqlite3.connect(workdir / "results.sqlite")) as conn:
    found = conn.execute("SELECT * FROM events ORDER BY event, position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  return [{k: v for k, v in zip(names, r) if k not in MACHINE_COLUMNS} for r in found]


def test_two_processes_train_a_task_to_the_result_of_one(tmp_path):
  alone = start(tmp_path / "alone", {})
  address = f"localhost:{free_port()}"
  processes = [start(tmp_path / "two", {"JAX_COORDINATOR_ADDRESS": address, "JAX_NUM_PROCESSES": "2",
                                        "JAX_PROCESS_ID": str(i)}) for i in range(2)]
  for process in [alone, *processes]:
    out, err = process.communicate(timeout=400)
    assert process.returncode == 0, err[-3000:]
  one, first, second = rows(tmp_path / "alone"), rows(tmp_path / "two"), rows(tmp_path / "two.process-1")
  assert first == second  # both processes recorded the same run
  (one_eval, one_train), (two_eval, two_train) = one, first  # eval sorts before train
  assert json.loads(two_train["info"])["data_parallel_devices"] == 2  # the batch split over both processes
  assert "data_parallel_devices" not in json.loads(one_train["info"])
  assert two_train["train_flops"] == one_train["train_flops"] > 0  # the global computation, charged once
  assert two_eval["error"] == one_eval["error"]
  assert two_eval["log_loss"] == pytest.approx(one_eval["log_loss"], rel=1e-5)
  np.testing.assert_allclose(np.load(tmp_path / "two" / two_eval["predictions_path"])["logits"],
                             np.load(tmp_path / "alone" / one_eval["predictions_path"])["logits"], rtol=1e-4,
                             atol=1e-5)
  assert (tmp_path / "two" / "checkpoints" / "state_0" / "tree.msgpack").is_file()  # each process's own state
