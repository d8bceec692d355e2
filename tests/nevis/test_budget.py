"""Compute budgets: the meter refuses, before it runs, a call that would pass the allowance; learners catch
BudgetExhausted; the runner records the budget of each task and whether it bound."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import nevis
from nevis import config as config_lib
from nevis.budget import ComputeBudget, short_number
from nevis.errors import BudgetExhausted, ConfigError
from nevis.meter import ComputeMeter
from nevis.metrics.flops import count_flops
from nevis.runner import Runner

from . import linear_learner  # registers test_budgeted, test_linear and test_colours
from .hostile_env import assert_one_line, run_cli
from .subprocess_env import subprocess_env
from .test_resume import table

STEPS = 30  # test_linear's default steps per task
IMPORTS = ["tests.nevis.budget_learners"]


def step_flops() -> float:
  """FLOPs of one training step of test_linear (its batch of 16 images of 8x8)."""
  params = {"w": np.zeros((6, 16), np.float32), "b": np.zeros((16,), np.float32)}
  images = np.zeros((16, 8, 8, 3), np.uint8)
  return count_flops(linear_learner._train_step,
                     (params, images, np.zeros(16, np.int32), np.ones(16, bool), np.float32(0.5)))


def run(tmp_path, name="w", learner="test_budgeted", **overrides):
  cfg = config_lib.resolve({"stream": "test_colours", "learner": learner, "imports": IMPORTS, **overrides})
  Runner(cfg, tmp_path / name, progress=False).run()
  return nevis.load_results(tmp_path / name)


def notes(results) -> list[dict]:
  return [json.loads(i) for i in results.tasks["info"]]


# -- the meter ------------------------------------------------------------------------------------------


def test_a_call_that_would_pass_the_allowance_is_refused_before_it_runs():
  runs = []

  def matmul(w, x):
    runs.append(1)  # once per trace
    return x @ w

  meter = ComputeMeter()
  f = meter.jit(matmul)
  w, x = jnp.ones((8, 8)), jnp.ones((4, 8))
  one = 2 * 4 * 8 * 8  # multiply-adds x 2
  meter.budget = ComputeBudget(flops=3 * one)  # exactly three calls
  meter.start_task()
  with meter.charging("train"), meter.budgeted():
    for _ in range(3):
      f(w, x)
    with pytest.raises(BudgetExhausted, match=r"a call of 512 FLOPs would pass the allowance of 1536 \(1536 spent\)"):
      f(w, x)
  assert meter.totals.flops["train"] == 3 * one and meter.totals.calls == 3  # the refused call did not run
  assert meter.totals.refused == {"train": 1, "prequential": 0, "eval": 0}
  with meter.charging("eval"), meter.budgeted():  # evaluation is never budgeted
    f(w, x)
  with meter.charging("train"):  # outside learner.train (init, say): charged, not bounded
    f(w, x)
  assert meter.totals.flops["train"] == 4 * one and meter.totals.flops["eval"] == one


def test_per_task_and_per_stream_allowances():
  task, stream = ComputeBudget(flops=100.0), ComputeBudget(flops=100.0, per="stream")
  assert task.allowance(spent_in_task=30, spent_in_run=250) == 70
  assert stream.allowance(spent_in_task=30, spent_in_run=80) == 20
  assert stream.allowance(spent_in_task=30, spent_in_run=130) == 0  # never negative
  assert task.stream_total(6) == 600 and stream.stream_total(6) == 100
  assert [short_number(v) for v in (1e9, 2.5e10, 300.0, 1e-3)] == ["1e9", "2.5e10", "300", "0.001"]
  assert task.describe_short() == "100/task"


def test_budget_config_shape_and_one_line_errors():
  assert config_lib.resolve({"compute_budget": {"flops": "1e12"}}).compute_budget == ComputeBudget(1e12, "task")
  assert config_lib.resolve({}, ["compute_budget.flops=2e9", "compute_budget.per=stream"]).compute_budget == \
      ComputeBudget(2e9, "stream")
  assert config_lib.resolve({}).compute_budget is None
  for override, fragment in (("compute_budget.per=run", "compute_budget.per must be one of task, stream"),
                             ("compute_budget.flops=-1", "compute_budget.flops must be >= 0"),
                             ("compute_budget.flops=lots", "compute_budget.flops must be a number"),
                             ("compute_budget={per: task}", "add the missing key"),
                             ("name=' '", "config.name must not be blank")):
    with pytest.raises(ConfigError, match=fragment):
      config_lib.resolve({}, [override])


# -- runs ---------------------------------------------------------------------------------------------------


def test_a_per_task_budget_stops_each_tasks_training_and_is_recorded(tmp_path):
  step = step_flops()
  results = run(tmp_path, compute_budget={"flops": 10.5 * step})
  t = results.tasks
  assert [n["steps"] for n in notes(results)] == [10, 10, 10]
  assert [n["refused_flops"] for n in notes(results)] == [step] * 3
  assert list(t["train_flops"]) == [10 * step] * 3  # never past the budget
  assert list(t["budget_flops"]) == [10.5 * step] * 3 and list(t["budget_bound"]) == [1, 1, 1]
  assert results.meta["meter"]["refused"]["train"] == 3
  assert "compute budget" in nevis.report.format_report(results) and "bound in 3 of 3 tasks" in \
      nevis.report.format_report(results)


def test_a_stream_budget_is_shared_by_the_tasks_in_order(tmp_path):
  step = step_flops()
  results = run(tmp_path, compute_budget={"flops": 45 * step, "per": "stream"})
  t = results.tasks
  assert [n["steps"] for n in notes(results)] == [30, 15, 0]
  assert list(t["budget_flops"]) == [45 * step, 15 * step, 0] and list(t["budget_bound"]) == [0, 1, 1]
  assert t["cumulative_train_flops"].iloc[-1] == 45 * step
  assert t["error"].iloc[-1] > 0.5  # colours_2 (5 classes) left untrained: about chance


def test_a_budget_that_does_not_bind_changes_nothing(tmp_path):
  free = run(tmp_path, "free")
  loose = run(tmp_path, "loose", compute_budget={"flops": 1e12})
  assert list(loose.tasks["error"]) == list(free.tasks["error"])
  assert list(loose.tasks["train_flops"]) == list(free.tasks["train_flops"])
  assert list(loose.tasks["budget_bound"]) == [0, 0, 0] and free.tasks["budget_flops"].isna().all()


def test_eager_operations_are_refused_by_the_budget_too(tmp_path):
  step, eager = step_flops(), 6 * 16  # one multiply per element of w (6 x 16)
  # Ten steps and ten eager multiplies fit; the eleventh multiply does not.
  results = run(tmp_path, compute_budget={"flops": 10 * (step + eager) + eager / 2},
                learner_options={"eager": True})
  assert [n["refused_flops"] for n in notes(results)] == [eager] * 3
  assert list(results.tasks["eager_flops"]) == [10 * eager] * 3
  assert list(results.tasks["train_flops"]) == [10 * (step + eager)] * 3


def test_blockwise_prequential_fits_each_get_the_tasks_allowance(tmp_path):
  step = step_flops()
  results = run(tmp_path, compute_budget={"flops": 5.5 * step}, prequential="blockwise")
  fits = sum(len(json.loads(b)) - 1 for b in results.tasks["chunk_boundaries"])  # one fit per later chunk
  assert results.meta["meter"]["refused"] == {"train": 3, "prequential": fits, "eval": 0}
  assert list(results.tasks["train_flops"]) == [5 * step] * 3


def test_a_learner_that_does_not_catch_it_fails_the_run_in_one_line(capsys, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  code, _, err = run_cli(capsys, "--import", "tests.nevis.budget_learners", "run", "--stream", "test_colours",
                         "--learner", "test_budget_ignored", "--set", "compute_budget.flops=1e5", "--workdir", "w",
                         "--no-progress", "--no-plot")
  line = err.strip().splitlines()[-1]
  assert code == 2 and line.startswith("nevis: error: learner 'test_budget_ignored' raised BudgetExhausted")
  assert "catch nevis.BudgetExhausted in the learner's train" in line and "--resume" in line
  assert nevis.load_results(tmp_path / "w").meta["status"] == "failed"
  assert_one_line(2, line)


def test_a_killed_budgeted_run_resumes_to_identical_results(tmp_path):
  args = ["--import", "tests.nevis.budget_learners", "run", "--stream", "test_colours", "--learner", "test_budgeted",
          "--set", f"compute_budget={{flops: {45 * step_flops()}, per: stream}}", "--no-progress", "--no-plot"]

  def nevis_cli(workdir, *extra, crash_at=""):
    return subprocess.run([sys.executable, "-m", "nevis.cli", *args, "--workdir", str(workdir), *extra],
                          env=subprocess_env({"NEVIS_TEST_CRASH_AT": crash_at}), capture_output=True, text=True,
                          timeout=300)

  assert nevis_cli(tmp_path / "ref").returncode == 0
  assert nevis_cli(tmp_path / "w", crash_at="after_record:0").returncode == -signal.SIGKILL
  resumed = nevis_cli(tmp_path / "w", "--resume")
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert table(tmp_path / "w") == table(tmp_path / "ref")


def test_results_of_schema_v2_are_read_and_upgraded_on_resume(tmp_path):
  import sqlite3

  from nevis import results as results_lib

  run(tmp_path, learner="test_linear")
  db = tmp_path / "w" / "results.sqlite"
  with sqlite3.connect(db) as conn:  # back to v2: the budget columns, gone; the run, unfinished
    for name, _ in results_lib._V3_COLUMNS:
      conn.execute(f"ALTER TABLE events DROP COLUMN {name}")
    conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    conn.execute("UPDATE meta SET value='\"interrupted\"' WHERE key='status'")
    conn.execute("DELETE FROM events WHERE after_position=2")
  old = nevis.load_results(tmp_path / "w")
  assert len(old.tasks) == 2 and "budget_bound" not in old.tasks
  assert "eval n" in nevis.report.format_report(old)
  cfg = config_lib.resolve({"stream": "test_colours", "learner": "test_linear", "imports": IMPORTS})
  Runner(cfg, tmp_path / "w", resume=True, progress=False).run()
  upgraded = nevis.load_results(tmp_path / "w")
  assert upgraded.meta["schema_version"] == results_lib.SCHEMA_VERSION == 3
  assert len(upgraded.tasks) == 3 and upgraded.tasks["budget_flops"].isna().all()
