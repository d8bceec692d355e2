"""Kill a run with SIGKILL at several points, resume it, and compare with an uninterrupted run."""
import signal
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from harness_env import subprocess_env

ARGS = [
    "--import", "linear_learner", "run", "--stream", "test_colours", "--learner", "test_linear",
    "--set", "prequential=blockwise", "--set", "evaluate_past=true", "--set", "checkpoint_every_steps=10",
    "--no-progress", "--no-plot",
]
CRASH_POINTS = [
    "after_record:0",  # between tasks
    "after_chunk:1:2",  # inside the prequential scoring of a task
    "train:colours_1:20",  # inside training, right after a within-task checkpoint
    "after_state:1",  # state saved, results not yet recorded
    "after_eval:2",  # evaluated, not recorded
]


def nevis(workdir, *extra, crash_at=None, args=ARGS):
  env = subprocess_env({"NEVIS_TEST_CRASH_AT": crash_at} if crash_at else {"NEVIS_TEST_CRASH_AT": ""})
  return subprocess.run(
      [sys.executable, "-m", "nevis.cli", *args, "--workdir", str(workdir), *extra],
      env=env, capture_output=True, text=True, timeout=300,
  )


def table(workdir):
  with sqlite3.connect(workdir / "results.sqlite") as conn:
    rows = conn.execute("SELECT * FROM events ORDER BY event, position, after_position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  skip = {"id", "wall_time_s"}  # insertion order and clock time legitimately differ
  return [{k: v for k, v in zip(names, r) if k not in skip} for r in rows]


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
