"""Runs that stop early: failures are recorded and resumable, signals stop a run resumably, kills anywhere
resume to the same numbers, and nothing in the user's folder is ever deleted."""
from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

import nevis

from .hostile_env import FOREIGN, RUN, assert_kept, assert_one_line, run_cli, snapshot
from .subprocess_env import subprocess_env
from .test_resume import table

TWO_TASKS = ["--set", "stream_options.num_tasks=2"]
HOSTILE = ["--import", "tests.nevis.hostile_learners"]


# A shell's background job (`cmd &`, as some CI runners start tests) ignores SIGINT, and Python keeps it
# ignored; the runs here get Python's default handler, as a run started from a terminal does. Set in the child
# (not by preexec_fn: forking a multi-threaded JAX process is unsafe).
_INTERRUPTIBLE = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                  "runpy.run_module('nevis.cli', run_name='__main__', alter_sys=True)")


def nevis_process(cwd, *args, env=None, wait=True):
  command = [sys.executable, "-c", _INTERRUPTIBLE, *args]
  if not wait:
    return subprocess.Popen(command, cwd=cwd, env=subprocess_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
  return subprocess.run(command, cwd=cwd, env=subprocess_env(env), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """An uninterrupted three-task run in a subprocess, as the killed runs are."""
  workdir = tmp_path_factory.mktemp("reference") / "w"
  done = nevis_process(workdir.parent, *RUN, "--set", "checkpoint_every_steps=10", "--workdir", str(workdir))
  assert done.returncode == 0, done.stderr
  return workdir


def test_a_failed_run_shows_as_failed_and_resumes_from_the_last_completed_task(project, capsys, monkeypatch):
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_1")
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", "--workdir", ".")
  assert code == 2 and "recorded as failed in ." in err
  code, out, _ = run_cli(capsys, "report", ".")
  assert code == 0 and "[run failed]" in out
  assert "failed on task 1 (colours_1): learner 'x_raises' raised ValueError during train of task 'colours_1'" in out
  first = nevis.load_results(project).tasks
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")  # the cause, fixed
  code, out, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", "--resume", "--workdir", ".")
  assert code == 0, err
  results = nevis.load_results(project)
  assert results.meta["status"] == "complete" and results.meta["failure"] is None
  assert list(results.tasks["task"]) == ["colours_0", "colours_1", "colours_2"]
  assert results.tasks["learner_wall_s"][0] == first["learner_wall_s"][0]  # task 0 was not trained again
  for name, data in FOREIGN.items():
    assert (project / name).read_bytes() == data


def test_a_run_that_failed_in_its_first_task_keeps_its_default_workdir_and_resumes(project, capsys, monkeypatch):
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_0")
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS)
  (workdir,) = (project / "runs").iterdir()
  assert code == 2 and f"recorded as failed in runs/{workdir.name}" in err
  assert nevis.load_results(workdir).meta["failure"]["task"] == "colours_0"
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--resume", "--workdir",
                         f"runs/{workdir.name}")
  assert code == 0, err
  assert nevis.load_results(workdir).meta["status"] == "complete"


def test_resuming_a_finished_run_changes_nothing(project, capsys):
  assert run_cli(capsys, *RUN, *TWO_TASKS, "--workdir", "w")[0] == 0
  db = project / "w" / "results.sqlite"
  before, mtime = db.read_bytes(), db.stat().st_mtime_ns
  code, out, err = run_cli(capsys, *RUN, *TWO_TASKS, "--resume", "--workdir", "w")
  assert code == 0 and "is complete; nothing to resume" in err
  assert db.read_bytes() == before and db.stat().st_mtime_ns == mtime
  code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--set", "seed=5", "--resume", "--workdir", "w")
  assert_one_line(code, err, ["changed config", "seed: 0 -> 5"])


@pytest.mark.parametrize("signal_name, code, word", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_a_signal_stops_a_run_resumably(project, reference, signal_name, code, word):
  args = [*RUN, "--set", "checkpoint_every_steps=10", "--workdir", "w"]
  stopped = nevis_process(project, *args, env={"NEVIS_TEST_CRASH_AT": "after_eval:1", "NEVIS_TEST_CRASH_SIGNAL": signal_name})
  assert stopped.returncode == code, stopped.stderr
  assert stopped.stderr.strip() == f"nevis: {word}; continue with `nevis run --resume --workdir w`"
  assert nevis.load_results(project / "w").meta["status"] == "interrupted"
  resumed = nevis_process(project, *args, "--resume")
  assert resumed.returncode == 0, resumed.stderr
  assert table(project / "w") == table(reference)


def test_a_run_killed_in_its_first_task_is_kept_and_resumes(project, reference):
  """Killed inside task 0 after an in-task checkpoint: run again without --resume it is refused and nothing
  is deleted; --resume continues it to the uninterrupted run's numbers."""
  args = [*RUN, "--set", "checkpoint_every_steps=10", "--workdir", "."]
  killed = nevis_process(project, *args, env={"NEVIS_TEST_CRASH_AT": "train:colours_0:20"})
  assert killed.returncode == -signal.SIGKILL
  assert list((project / "checkpoints" / "task_0" / "train").glob("ckpt_*"))
  before = snapshot(project)
  again = nevis_process(project, *args)
  assert_one_line(again.returncode, again.stderr, ["already holds a run", "add --resume"])
  for transient in ("lock", "results.sqlite-shm"):  # who holds the lock; SQLite's shared-memory index
    before.pop(transient, None)
  assert_kept(before, project)
  resumed = nevis_process(project, *args, "--resume")
  assert resumed.returncode == 0, resumed.stderr
  assert table(project) == table(reference)
  for name, data in FOREIGN.items():
    assert (project / name).read_bytes() == data


def test_a_corrupt_in_task_checkpoint_is_named_with_the_fix(project, capsys, reference):
  args = [*RUN, "--set", "checkpoint_every_steps=10", "--workdir", "w"]
  killed = nevis_process(project, *args, env={"NEVIS_TEST_CRASH_AT": "train:colours_1:20"})
  assert killed.returncode == -signal.SIGKILL
  (checkpoint,) = (project / "w" / "checkpoints" / "task_1" / "train").glob("ckpt_*")
  for path in checkpoint.rglob("*"):
    if path.is_file():
      path.write_bytes(b"garbage")
  code, _, err = run_cli(capsys, *args, "--resume")
  assert_one_line(code, err, [f"the in-task checkpoint {checkpoint} is corrupt", "delete",
                              "checkpoints/task_1 to restart that task from its beginning"])
  shutil.rmtree(project / "w" / "checkpoints" / "task_1")  # what the line says to do
  code, _, err = run_cli(capsys, *args, "--resume")
  assert code == 0, err
  assert table(project / "w") == table(reference)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_random_moments_and_resumed_to_the_same_numbers(project, reference, seed):
  """SIGKILL at random moments (two per run, a second one during --resume), then --resume to the end."""
  rng = random.Random(seed)
  args = [*RUN, "--set", "checkpoint_every_steps=10", "--workdir", "w"]
  for attempt in range(2):
    process = nevis_process(project, *args, *(["--resume"] if attempt else []), wait=False)
    time.sleep(rng.uniform(1.0, 5.0))
    process.kill()
    process.communicate()
    if not (project / "w" / "results.sqlite").exists():
      break  # killed before its results existed: the next attempt starts afresh
  extra = ["--resume"] if (project / "w" / "results.sqlite").exists() else []
  finished = nevis_process(project, *args, *extra)
  assert finished.returncode == 0, finished.stderr
  assert table(project / "w") == table(reference)
  assert not [p for p in (project / "w").rglob("*") if p.name.endswith(".tmp") or "orbax-checkpoint-tmp" in p.name]
  for name, data in FOREIGN.items():
    assert (project / name).read_bytes() == data
