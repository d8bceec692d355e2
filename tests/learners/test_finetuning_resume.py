"""`previous` killed inside a task, right after an in-task checkpoint (orbax on disk), resumes bitwise.

The checkpoint then holds a trial's best dev check so far and the finished trial's score; the run is
killed by SIGKILL through the test plugin tests/learners/icl/checkpoint_crash.py and resumed with `--resume`.
"""
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from nevis.results import MACHINE_COLUMNS

PLUGINS = Path(__file__).parent / "icl"
# Two tasks, 2 trials x 6 steps, dev checks every 2 steps, in-task checkpoints every 4 steps (counted over
# trials): the one at step 8 is the second trial's step 2, after the first trial finished with a best check.
ARGS = [
    "--import", "checkpoint_crash", "run", "--stream", "synthetic", "--learner", "previous",
    "--set", "stream_options={num_tasks: 2, examples_per_class: 12}", "--set", "checkpoint_every_steps=4",
    "--set", "learner_options={width: 4, blocks_per_stage: [1], image_size: 8, num_steps: 6, min_steps: 0, "
    "learning_rates: [0.05, 0.2], label_smoothing: 0.1, eval_every_steps: 2, max_batch: 16, eval_batch_size: 16}",
    "--set", "eval_batch_size=16", "--no-progress", "--no-plot",
]


def nevis(workdir, *extra, crash_at=""):
  env = dict(os.environ, NEVIS_TEST_CRASH_AT=crash_at, JAX_DISABLE_MOST_OPTIMIZATIONS="1",
             PYTHONPATH=os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
  return subprocess.run([sys.executable, "-m", "nevis.cli", *ARGS, "--workdir", str(workdir), *extra],
                        env=env, capture_output=True, text=True, timeout=300)


def table(workdir):
  with sqlite3.connect(workdir / "results.sqlite") as conn:
    rows = conn.execute("SELECT * FROM events ORDER BY event, position, after_position").fetchall()
    names = [d[0] for d in conn.execute("SELECT * FROM events").description]
  return [{k: v for k, v in zip(names, r) if k not in MACHINE_COLUMNS} for r in rows]


def test_previous_killed_after_an_in_task_checkpoint_resumes_bitwise(tmp_path):
  reference = tmp_path / "reference"
  done = nevis(reference)
  assert done.returncode == 0, done.stderr[-2000:]
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at="saved:1:8")
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = nevis(workdir, "--resume")
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  got = table(workdir)
  assert got == table(reference)  # errors, log-losses, FLOPs and the selection notes (kept steps), bitwise
  assert len(got) == 2 + 2
