"""`nevis sweep` end to end on mini: every run of a sweep equals the same config run alone with `nevis run`,
with either executor, after a worker is killed mid-sweep, and across an interrupted sweep and its `--resume`."""
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from nevis import cli
from nevis.results import MACHINE_COLUMNS
from nevis.sweep_plan import load_sweep

from .subprocess_env import ROOT, subprocess_env

BASE = """\
stream: mini
learner: linear
max_tasks: 2
learner_options: {image_size: 8, l2_values: [0.001], batch_size: 32}
"""
GRID = {"learner_options.learning_rate": [0.01, 0.1], "learner_options.num_steps": [5, 10]}
SEEDS = [0, 1]
# Two runs long enough (about 2 s a task) that a test can kill a worker in the middle of one.
LONG_GRID = {"learner_options.num_steps": [3000]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  root = tmp_path_factory.mktemp("sweep")
  (root / "base.yaml").write_text(BASE)
  for name, grid, seeds in (("sweep.yaml", GRID, SEEDS), ("long.yaml", LONG_GRID, SEEDS)):
    (root / name).write_text(json.dumps({"base": "base.yaml", "grid": grid, "seeds": seeds}))
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("NEVIS_DATA_DIR", str(root / "data"))
    yield root


def run_alone(setup, grid, seeds):
  """Each (configuration, seed) run with `nevis run` (in this process), by the name the sweep gives it."""
  import itertools

  out = {}
  for values in itertools.product(*grid.values()):
    for seed in seeds:
      sets = [f"{key}={value}" for key, value in zip(grid, values)] + [f"seed={seed}"]
      name = ",".join(f"{key.split('.')[-1]}={value}" for key, value in zip(grid, values)) + f",seed={seed}"
      workdir = setup / "alone" / name
      args = ["run", str(setup / "base.yaml"), "--workdir", str(workdir), "--no-progress", "--no-plot"]
      assert cli.main(args + [a for s in sets for a in ("--set", s)]) == 0
      out[name] = workdir
  return out


@pytest.fixture(scope="module")
def alone(setup):
  return run_alone(setup, GRID, SEEDS)


@pytest.fixture(scope="module")
def long_alone(setup):
  return run_alone(setup, LONG_GRID, SEEDS)


def events(workdir):
  with contextlib.closing(sqlite3.connect(workdir / "results.sqlite")) as conn:
    rows = conn.execute("SELECT * FROM events ORDER BY event, position, after_position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  return [{k: v for k, v in zip(names, r) if k not in MACHINE_COLUMNS} for r in rows]


def assert_same_results(folder, reference):
  runs = sorted(p.name for p in folder.iterdir() if p.is_dir())
  assert runs == sorted(reference)
  for name, alone in reference.items():
    expected, got = events(alone), events(folder / name)
    assert len(got) == 4 and got == expected, name  # two tasks: a train and an eval row each, bitwise equal
    for row in expected:
      if row["predictions_path"]:
        a, b = np.load(alone / row["predictions_path"]), np.load(folder / name / row["predictions_path"])
        np.testing.assert_array_equal(a["logits"], b["logits"])


def sweep(setup, *args, file="sweep.yaml"):
  """`nevis sweep` in a subprocess (its worker processes are real processes): a Popen, stdout piped."""
  env = subprocess_env({"NEVIS_DATA_DIR": str(setup / "data"), "RAY_DEDUP_LOGS": "0"})
  return subprocess.Popen([sys.executable, "-m", "nevis.cli", "sweep", str(setup / file), *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout=400):
  out, err = process.communicate(timeout=timeout)
  return process.returncode, out, err


def executors():
  return ["local", pytest.param("ray", marks=pytest.mark.skipif(
      not _has_ray(), reason="the ray executor's tests need Ray: pip install 'nevis[ray]'"))]


def _has_ray():
  import importlib.util

  return importlib.util.find_spec("ray") is not None


@pytest.mark.parametrize("executor", executors())
def test_every_run_of_a_sweep_equals_the_run_alone(setup, alone, executor):
  folder = setup / f"sweep-{executor}"
  code, out, err = finish(sweep(setup, "--workdir", str(folder), "--executor", executor, "--workers", "2"))
  assert code == 0, err[-3000:]
  lines = out.splitlines()
  assert lines[0].startswith(f"sweep: 8 runs (4 configurations x 2 seeds) in {folder}; 0 complete before, 8 to run "
                             f"with the {executor} executor (2 workers)")
  assert sorted(l.split()[1] for l in lines if l.startswith("started ")) == sorted(alone)
  assert sorted(l.split()[1] for l in lines if l.startswith("finished ")) == sorted(alone)
  assert lines[-1].startswith("summary: 8 of 8 runs complete (0 before this call); 0 restarted after a worker died")
  assert_same_results(folder, alone)
  for name in alone:  # beside each run: its config, which `nevis run` accepts as it is, and its output
    assert (folder / f"{name}.yaml").is_file() and (folder / f"{name}.log").is_file()
  if executor == "local":
    code, out, err = finish(sweep(setup, "--workdir", str(folder), "--resume"))
    assert code == 0, err[-3000:]
    assert "8 complete before, 0 to run" in out and not [l for l in out.splitlines() if l.startswith("started")]


def test_a_run_config_beside_the_run_continues_it_alone(setup, alone):
  folder = setup / "sweep-local"
  name = sorted(alone)[0]
  before = (folder / name / "results.sqlite").stat().st_mtime_ns
  assert cli.main(["run", str(folder / f"{name}.yaml"), "--workdir", str(folder / name), "--resume", "--no-plot"]) == 0
  assert (folder / name / "results.sqlite").stat().st_mtime_ns == before  # complete: nothing written


def status(workdir):
  """The run's status in its results, or None when it has none (yet)."""
  try:
    with contextlib.closing(sqlite3.connect(f"file:{workdir / 'results.sqlite'}?mode=ro", uri=True)) as conn:
      return json.loads(conn.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
  except (sqlite3.Error, TypeError):
    return None


def kill_a_worker_mid_run(process, folder, names, timeout=300):
  """SIGKILLs the worker process of the first run found between its first and its last task (its pid is in
  the run's lock file); returns the run's name."""
  deadline = time.time() + timeout
  while time.time() < deadline and process.poll() is None:
    for name in names:
      if status(folder / name) != "running":
        continue
      db = folder / name / "results.sqlite"
      try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
          trained = conn.execute("SELECT COUNT(*) FROM events WHERE event='train'").fetchone()[0]
      except sqlite3.Error:
        continue
      if trained == 1:
        pid = int((folder / name / "lock").read_text().split()[1])
        try:
          os.kill(pid, signal.SIGKILL)
          return name
        except ProcessLookupError:
          continue
    time.sleep(0.01)
  raise AssertionError("no run was seen between its tasks")


@pytest.mark.parametrize("executor", executors())
def test_a_worker_killed_mid_sweep_is_restarted_and_the_results_are_identical(setup, long_alone, executor):
  folder = setup / f"killed-{executor}"
  process = sweep(setup, "--workdir", str(folder), "--executor", executor, "--workers", "2", file="long.yaml")
  killed = kill_a_worker_mid_run(process, folder, sorted(long_alone))
  code, out, err = finish(process)
  assert code == 0, err[-3000:]
  restarted = [l for l in out.splitlines() if "(attempt 2, after its worker died; continuing from its checkpoint)" in l]
  assert len(restarted) == 1, out
  if executor == "local":  # the run whose worker was killed; a Ray worker may have moved on to the next run
    assert restarted[0].split()[1] == killed
    assert f"died      {killed}: its worker was killed by SIGKILL; starting it again" in out
  assert "summary: 2 of 2 runs complete (0 before this call); 1 restarted after a worker died" in out
  assert_same_results(folder, long_alone)


def test_resume_of_an_interrupted_sweep_runs_nothing_finished_again(setup, long_alone):
  folder = setup / "interrupted"
  process = sweep(setup, "--workdir", str(folder), "--workers", "1", file="long.yaml")
  for line in process.stdout:
    if line.startswith("finished "):
      process.send_signal(signal.SIGTERM)
      break
  code, out, err = finish(process)
  assert code == 143, err[-3000:]
  assert f"nevis: terminated; continue with `nevis sweep {setup / 'long.yaml'} --workdir {folder} --resume`" in err
  complete = [n for n in long_alone if status(folder / n) == "complete"]
  assert len(complete) == 1
  (unfinished,) = set(long_alone) - set(complete)
  stamps = {n: (folder / n / "results.sqlite").stat().st_mtime_ns for n in complete}
  code, out, err = finish(sweep(setup, "--workdir", str(folder), "--resume", file="long.yaml"))
  assert code == 0, err[-3000:]
  assert "1 complete before, 1 to run" in out
  assert [l.split()[1] for l in out.splitlines() if l.startswith("started ")] == [unfinished]
  assert {n: (folder / n / "results.sqlite").stat().st_mtime_ns for n in complete} == stamps
  assert_same_results(folder, long_alone)


# -- the command's bad input: one line, exit 2, before any run starts ------------------------------------


def one_line_error(code, err, fragment):
  lines = [l for l in err.strip().splitlines() if l.strip()]
  assert code == 2 and len(lines) == 1 and fragment in lines[0], err


@pytest.mark.parametrize("args, fragment", [
    (["--resume"], "--resume needs --workdir DIR"),
    (["--workdir", "busy"], "holds other files; a sweep starts in a new or empty folder"),
    (["--workdir", "w", "--resume"], "holds no sweep (sweep.json missing)"),
    (["--address", "auto"], "executor.address joins a Ray cluster: add --executor ray"),
    (["--workers", "0"], "executor.workers must be >= 1"),
    (["--executor", "slurm"], "invalid choice: 'slurm'"),
])
def test_bad_sweep_commands_are_one_line(run_cli, tmp_path, args, fragment):
  (tmp_path / "s.yaml").write_text("base: {stream: test_colours, learner: test_linear}\n")
  (tmp_path / "busy").mkdir()
  (tmp_path / "busy" / "notes.txt").write_text("mine")
  (tmp_path / "w").mkdir()
  code, out, err = run_cli("sweep", "s.yaml", *args)
  one_line_error(code, err, fragment)
  assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_a_bad_option_anywhere_in_the_grid_stops_the_sweep_before_it_starts(run_cli, tmp_path):
  (tmp_path / "s.yaml").write_text("base: {stream: test_colours, learner: test_linear}\n"
                                   "grid: {learner_options.num_step: [1, 2]}\n")
  code, out, err = run_cli("sweep", "s.yaml", "--workdir", "w")
  one_line_error(code, err, "sweep run num_step=1,seed=0:")
  assert not (tmp_path / "w").exists() and not (tmp_path / "runs").exists()


def test_resume_with_a_changed_sweep_names_the_change(run_cli, tmp_path):
  from nevis import sweep

  (tmp_path / "s.yaml").write_text("base: {stream: test_colours, learner: test_linear}\n"
                                   "grid: {learner_options.num_steps: [1, 2]}\n")
  (tmp_path / "w").mkdir()
  planned = load_sweep(tmp_path / "s.yaml", imports=["tests.nevis.linear_learner"])  # as run_cli imports it
  sweep._write_plan(tmp_path / "w", planned, "s.yaml", resume=False)
  (tmp_path / "s.yaml").write_text("base: {stream: test_colours, learner: test_linear, max_tasks: 2}\n"
                                   "grid: {learner_options.num_steps: [1, 2]}\n")
  code, out, err = run_cli("sweep", "s.yaml", "--workdir", "w", "--resume")
  one_line_error(code, err, "--resume with a changed sweep (run num_steps=1,seed=0: max_tasks: None -> 2)")
  (tmp_path / "s.yaml").write_text("base: {stream: test_colours, learner: test_linear}\n"
                                   "grid: {learner_options.num_steps: [1, 3]}\n")
  code, out, err = run_cli("sweep", "s.yaml", "--workdir", "w", "--resume")
  one_line_error(code, err, "(new runs num_steps=3,seed=0; runs gone num_steps=2,seed=0)")


def test_the_ray_executor_without_ray_says_how_to_install_it(monkeypatch):
  import sys

  from nevis import sweep_executors
  from nevis.errors import UserError

  monkeypatch.setitem(sys.modules, "ray", None)
  with pytest.raises(UserError, match=r"pip install 'nevis\[ray\]'"):
    sweep_executors._import_ray()
