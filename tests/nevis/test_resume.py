"""Kill a run with SIGKILL at several points, resume it, and compare with an uninterrupted run."""
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nevis.results import MACHINE_COLUMNS

from .subprocess_env import subprocess_env

ARGS = [
    "--import", "tests.nevis.linear_learner", "run", "--stream", "test_colours", "--learner", "test_linear",
    "--set", "prequential=blockwise", "--set", "evaluate_past=true", "--set", "checkpoint_every_steps=10",
    "--no-progress", "--no-plot",
]
CRASH_POINTS = [
    "after_record:0",  # between tasks
    "after_chunk:1:2",  # inside the prequential scoring of a task
    "train:colours_1:20",  # inside training, right after a within-task checkpoint
    "state_writing:1",  # the state being written (on its own thread) while the learner is scored
    "after_state:1",  # state saved, results not yet recorded
    "after_eval:2",  # evaluated, not recorded
]


def nevis(workdir, *extra, crash_at=None, args=ARGS, env=None):
  env = subprocess_env({"NEVIS_TEST_CRASH_AT": crash_at or "", **(env or {})})
  return subprocess.run(
      [sys.executable, "-m", "nevis.cli", *args, "--workdir", str(workdir), *extra],
      env=env, capture_output=True, text=True, timeout=300,
  )


def table(workdir):
  with sqlite3.connect(workdir / "results.sqlite") as conn:
    rows = conn.execute("SELECT * FROM events ORDER BY event, position, after_position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  return [{k: v for k, v in zip(names, r) if k not in MACHINE_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("reference") / "w"
  done = nevis(workdir)
  assert done.returncode == 0, done.stderr
  return workdir


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_killed_run_resumes_to_identical_results(reference, tmp_path, crash_at):
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at=crash_at)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = nevis(workdir, "--resume")
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  expected, got = table(reference), table(workdir)
  assert len(got) == len(expected) == 3 + 6
  assert got == expected  # every figure bitwise equal: errors, log-losses, FLOPs, code lengths
  for row in expected:
    if row["predictions_path"]:
      a, b = np.load(reference / row["predictions_path"]), np.load(workdir / row["predictions_path"])
      np.testing.assert_array_equal(a["logits"], b["logits"])
  assert not list((workdir / "checkpoints").glob("task_*")), "within-task checkpoints are cleaned up"


ONLINE_ARGS = ARGS[: ARGS.index("--set")] + [
    "--set", "prequential=online", "--set", "checkpoint_every_steps=10",
    "--set", "learner_options={num_steps: 30, learning_rate: 5.0}", "--no-progress", "--no-plot",
]


def test_online_prequential_scores_survive_a_crash_inside_training(tmp_path):
  reference = tmp_path / "reference"
  assert nevis(reference, args=ONLINE_ARGS).returncode == 0
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at="train:colours_1:10", args=ONLINE_ARGS)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = nevis(workdir, "--resume", args=ONLINE_ARGS)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  got = table(workdir)
  assert got == table(reference)
  assert all(r["preq_nats"] > 0 for r in got if r["event"] == "train")


ICL_ARGS = [
    "run", "--stream", "synthetic", "--learner", "icl", "--set", "evaluate_past=true",
    "--set", "learner_options={width: 4, blocks_per_stage: [1], image_size: 8, label_vocab: 4, context_size: 6, "
    "queries_per_prompt: 2, prompts_per_step: 2, eval_contexts: 2, num_steps: 3, learning_rates: [0.01, 0.03], "
    "batch_size: 8, eval_batch_size: 16, sequence: {d_model: 16, num_layers: 1, num_heads: 2, mixer: fox}}",
    "--no-progress", "--no-plot",
]


def test_icl_learner_killed_mid_stream_resumes_to_identical_results(tmp_path):
  """The in-context learner restarts an interrupted task from the last finished one: same numbers."""
  reference = tmp_path / "reference"
  done = nevis(reference, args=ICL_ARGS)
  assert done.returncode == 0, done.stderr[-2000:]
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at="after_eval:1", args=ICL_ARGS)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = nevis(workdir, "--resume", args=ICL_ARGS)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert table(workdir) == table(reference)


# Two tasks of 2 candidates x 4 steps: in-task checkpoints are due at steps 3 and 6 of each task (steps
# counted over candidates), so step 6 is the second candidate's step 2. The crash point and the log of the
# steps asked about come from the test plugin tests/learners/icl/checkpoint_crash.py.
ICL_CHECKPOINT_ARGS = [
    "--import", "checkpoint_crash", "run", "--stream", "synthetic", "--learner", "icl",
    "--set", "stream_options={num_tasks: 2}", "--set", "checkpoint_every_steps=3",
    "--set", "learner_options={mode: icl_ft, select_by: dev, width: 4, blocks_per_stage: [1], image_size: 8, "
    "label_vocab: 4, context_size: 6, queries_per_prompt: 2, prompts_per_step: 2, eval_contexts: 2, num_steps: 4, "
    "learning_rates: [0.01, 0.03], eval_batch_size: 16, sequence: {d_model: 16, num_layers: 1, num_heads: 2, "
    "mixer: fox}}",
    "--no-progress", "--no-plot",
]
ICL_TESTS = Path(__file__).parent.parent / "learners" / "icl"


def test_icl_learner_killed_inside_training_resumes_from_its_in_task_checkpoint(tmp_path):
  """Killed right after the checkpoint at the second candidate's step 2, the task resumes there: it asks
  only about steps 7 and 8 (a restarted task would run 1..8) and ends with the uninterrupted run's numbers."""
  def env(log):
    return {"PYTHONPATH": os.pathsep.join([str(ICL_TESTS), os.environ.get("PYTHONPATH", "")]),
            "NEVIS_TEST_DUE_LOG": str(log),
            "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}  # compile time is most of these runs; same flags in all three

  def asked(log, position):
    return [int(step) for where, step in (line.split() for line in log.read_text().splitlines()) if where == position]

  reference = tmp_path / "reference"
  done = nevis(reference, args=ICL_CHECKPOINT_ARGS, env=env(tmp_path / "reference.log"))
  assert done.returncode == 0, done.stderr[-2000:]
  assert asked(tmp_path / "reference.log", "1") == list(range(1, 9))
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at="saved:1:6", args=ICL_CHECKPOINT_ARGS, env=env(tmp_path / "killed.log"))
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  assert asked(tmp_path / "killed.log", "1") == list(range(1, 7))
  resumed = nevis(workdir, "--resume", args=ICL_CHECKPOINT_ARGS, env=env(tmp_path / "resumed.log"))
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert asked(tmp_path / "resumed.log", "1") == [7, 8]
  assert asked(tmp_path / "resumed.log", "0") == []  # finished before the crash
  got = table(workdir)
  assert got == table(reference)  # errors, log-losses, FLOPs and the selection notes, bitwise
  assert len(got) == 2 + 2  # a train and an eval row per task
  assert not list((workdir / "checkpoints").glob("task_*")), "within-task checkpoints are cleaned up"
