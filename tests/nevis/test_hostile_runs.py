"""Reliability suite, part 2: learners that break the rules, damaged results and checkpoints, read-only and
full file systems.

Each case runs in a user's project folder of foreign files and asserts exit code 2, exactly one stderr line
`nevis: error: ...` naming the problem and the fix, no traceback, every foreign file intact and nothing
half-written. A run that failed while running is kept and recorded as failed (never deleted).
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3

import pytest

import nevis

from .hostile_env import RUN, assert_kept, assert_one_line, read_only, run_cli, snapshot, tmpfs

HOSTILE = ["--import", "tests.nevis.hostile_learners"]
TWO_TASKS = ["--set", "stream_options.num_tasks=2"]


# -- learners that break the rules: the run fails, is recorded as failed, and nothing is lost ----------

LEARNER_CASES = [
    ("x_plain_jit", ["ran _train_step (", "linear_learner.py", "with plain jax.jit during train of task 'colours_0'",
                     "task.unmetered"]),
    ("x_prewarmed_jit", ["ran <lambda> (", "hostile_learners.py", "with plain jax.jit"]),
    ("x_ahead_of_time", ["compiled jit(<lambda>) outside task.jit"]),
    ("x_vmap_of_task_jit", ["inside a JAX transformation", "task.jit(jax.vmap(f))"]),
    ("x_swallowed", ["ran <lambda> (", "with plain jax.jit"]),
    ("x_compiles_when_built", ["with plain jax.jit during construction"]),
    ("x_in_predict", ["with plain jax.jit during predict of task 'colours_0'"]),
    ("x_helper_without_reason", ["task.unmetered needs a reason"]),
    ("x_eager_while", ["ran the eager JAX operation while, whose FLOPs cannot be counted, during train",
                       "use lax.scan or lax.fori_loop"]),
    ("x_set_state", ["cannot be checkpointed: state['seen'] is a set"]),
    ("x_object_state", ["cannot be checkpointed: state['extra'] is an array of object"]),
    ("x_bad_checkpoint", ["task.checkpoint.save got a tree it cannot hold", "['fn'] is a builtin_function_or_method"]),
    ("x_text_scores", ["returned scores of shape ()"]),
    ("test_bad_shape", ["shape (128, 4)", "expected (128, 3)"]),
    ("test_nan", ["NaN or infinite scores"]),
]


@pytest.mark.parametrize("learner, fragments", LEARNER_CASES, ids=[c[0] for c in LEARNER_CASES])
@pytest.mark.parametrize("where", ["project folder", "default workdir"])
def test_a_learner_breaking_the_rules(project, capsys, learner, fragments, where):
  before = snapshot(project)
  workdir = ["--workdir", "."] if where == "project folder" else []
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", learner, *TWO_TASKS, *workdir)
  line = assert_one_line(code, err, fragments)
  assert_kept(before, project)
  if "construction" in line:  # refused before any workdir was touched
    assert "recorded as failed" not in line
    return
  assert "recorded as failed" in line and "nevis run --resume --workdir" in line
  run = project if where == "project folder" else next((project / "runs").iterdir())
  results = nevis.load_results(run)
  assert results.meta["status"] == "failed" and results.meta["failure"]["task"] == "colours_0"


def test_online_prequential_without_scores(project, capsys):
  before = snapshot(project)
  code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--set", "prequential=online", "--set",
                         "learner_options.num_steps=2", "--workdir", "w")
  assert_one_line(code, err, ["does not report online prequential scores", "use prequential: blockwise"])
  assert_kept(before, project)


def test_the_learners_own_exception_keeps_only_its_traceback(project, capsys, monkeypatch):
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_1")
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--workdir", "w")
  lines = err.strip().splitlines()
  assert code == 2 and lines[0] == "Traceback (most recent call last):"
  frames = [line for line in lines if line.startswith('  File "')]
  assert frames and all("hostile_learners.py" in f for f in frames), frames  # no harness frames
  assert lines[-1].startswith("nevis: error: learner 'x_raises' raised ValueError during train of task 'colours_1'")
  assert nevis.load_results(project / "w").meta["failure"]["task"] == "colours_1"


# -- damaged results -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("finished") / "w"
  assert nevis.cli.main([*RUN, *TWO_TASKS, "--workdir", str(workdir)]) == 0
  return workdir


def _zero(path):
  path.write_bytes(b"")


def _truncate(path):
  data = path.read_bytes()
  path.write_bytes(data[: len(data) // 3])


def _overwrite(path):
  path.write_bytes(os.urandom(path.stat().st_size))


def _bad_header(path):
  data = bytearray(path.read_bytes())
  data[:16] = b"\0" * 16
  path.write_bytes(bytes(data))


def _foreign_database(path):
  path.unlink()
  with sqlite3.connect(path) as conn:
    conn.execute("CREATE TABLE photos (id INTEGER)")


def _newer_schema(path):
  with sqlite3.connect(path) as conn:
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
  with sqlite3.connect(path) as conn:
    conn.execute("PRAGMA journal_mode=DELETE")


DAMAGE = {
    "empty": (_zero, "is empty (0 bytes)"),
    "truncated": (_truncate, "results.sqlite"),
    "overwritten": (_overwrite, "is not a SQLite database"),
    "bad header": (_bad_header, "is not a SQLite database"),
    "another program's database": (_foreign_database, "but not nevis results"),
    "a newer schema": (_newer_schema, "has results schema v99"),
}
COMMANDS = {
    "report": ["report", "w"],
    "resume": [*RUN, *TWO_TASKS, "--resume", "--workdir", "w"],
    "new run": [*RUN, *TWO_TASKS, "--workdir", "w"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_results(project, capsys, finished, damage, command):
  shutil.copytree(finished, project / "w")
  corrupt, fragment = DAMAGE[damage]
  corrupt(project / "w" / "results.sqlite")
  before = snapshot(project)
  code, _, err = run_cli(capsys, *COMMANDS[command])
  assert_one_line(code, err, [fragment] if damage == "a newer schema" else [fragment, "restore it from a backup"])
  before.pop("w/lock", None)  # the lock records who holds the workdir: nevis's own file
  assert_kept(before, project)


# -- damaged checkpoints ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
  """A run that failed on its second task: task 0 recorded, its learner state checkpointed."""
  workdir = tmp_path_factory.mktemp("failed") / "w"
  os.environ["NEVIS_TEST_FAIL_TASK"] = "colours_1"
  try:
    assert nevis.cli.main([*HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--workdir", str(workdir)]) == 2
  finally:
    del os.environ["NEVIS_TEST_FAIL_TASK"]
  return workdir


def _delete_state(workdir):
  shutil.rmtree(workdir / "checkpoints" / "state_0")


def _corrupt_state(workdir):
  for path in (workdir / "checkpoints" / "state_0").rglob("*"):
    if path.is_file():
      path.write_bytes(b"garbage")


@pytest.mark.parametrize("damage, fragment", [(_delete_state, "is missing"), (_corrupt_state, "is corrupt")],
                         ids=["state checkpoint deleted", "state checkpoint corrupt"])
def test_damaged_state_checkpoint(project, capsys, failed, finished, damage, fragment):
  shutil.copytree(failed, project / "w")
  damage(project / "w")
  before = snapshot(project)
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--resume", "--workdir", "w")
  line = assert_one_line(code, err, ["the learner state after task 0 (colours_0)", fragment,
                                     "nevis run --resume --redo-last-task --workdir w"])
  for nevis_file in ("w/lock", "w/results.sqlite", "w/events.jsonl"):  # the failure is recorded: nevis's files change
    before.pop(nevis_file)
  assert_kept(before, project)
  failure = nevis.load_results(project / "w").meta["failure"]
  assert failure["task"] is None and failure["error"] in line  # it failed between tasks, while resuming
  # What the line says works: task 0 is trained again from the start, and the run completes.
  code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--resume", "--redo-last-task",
                         "--workdir", "w")
  assert code == 0, err
  got, expected = nevis.load_results(project / "w").tasks, nevis.load_results(finished).tasks
  columns = ["task", "error", "log_loss", "train_flops", "cumulative_train_flops", "eval_flops", "eager_flops"]
  assert got[columns].equals(expected[columns])  # the numbers of an uninterrupted run


# -- file systems: read-only, full -----------------------------------------------------------------------


def test_resuming_a_run_on_read_only_media(project, capsys, failed):
  shutil.copytree(failed, project / "w")
  with read_only(project / "w") as folder:
    if folder is None:
      pytest.skip("no way to make a read-only folder here")
    before = snapshot(project)
    code, _, err = run_cli(capsys, *HOSTILE, *RUN, "--learner", "x_raises", *TWO_TASKS, "--resume", "--workdir", "w")
    assert_one_line(code, err, ["cannot write to workdir 'w'"])
    assert_kept(before, project, nothing_new=True)


@pytest.mark.parametrize("target", ["predictions", "results"])
def test_no_space_left_while_running(project, capsys, monkeypatch, target):
  """ENOSPC simulated on the writes of the predictions or of the results (any platform)."""
  from nevis import evaluation, results

  def full(*args, **kwargs):
    if target == "results":
      raise sqlite3.OperationalError("database or disk is full")
    raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

  monkeypatch.setattr(evaluation, "atomic_write_bytes", full) if target == "predictions" else monkeypatch.setattr(
      results.ResultsStore, "record_task", full)
  before = snapshot(project)
  code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--workdir", "w")
  assert_one_line(code, err, ["no space left on the device while writing", "nevis run --resume --workdir w"])
  assert_kept(before, project)
  monkeypatch.undo()
  monkeypatch.chdir(project)
  code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--resume", "--workdir", "w")
  assert code == 0, err


def test_a_full_disk(project, capsys, finished):
  """A real full file system (a small tmpfs, where the platform lets us mount one): one line, nothing
  half-written; once there is space, --resume finishes with the numbers of an uninterrupted run."""
  with tmpfs(project / "small", "160k") as mounted:
    if not mounted:
      pytest.skip("mounting a tmpfs needs root")
    before = snapshot(project)
    code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--workdir", "small/w")
    assert_one_line(code, err, ["no space left on the device", "nevis run --resume --workdir small/w"])
    assert_kept(before, project)
    from .hostile_env import remount

    assert remount(project / "small", "size=64m")
    code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--resume", "--workdir", "small/w")
    assert code == 0, err
    got, expected = nevis.load_results(project / "small" / "w"), nevis.load_results(finished)
    columns = ["task", "error", "log_loss", "train_flops", "eval_flops"]
    assert got.tasks[columns].equals(expected.tasks[columns])
