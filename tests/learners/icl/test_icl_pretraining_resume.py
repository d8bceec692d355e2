"""A meta-pretraining run killed (SIGKILL) right after an in-task checkpoint resumes with `--resume` from that
step and ends with the uninterrupted run's numbers, bitwise; a run that starts from it sees the same model."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from nevis.checkpoints import latest, load_tree
from tests.learners.icl.icl_fixtures import leaves_equal
from tests.nevis.test_resume import nevis, table

ICL_TESTS = Path(__file__).parent
ARGS = [
    "--import", "checkpoint_crash", "run", "--stream", "glyphs", "--learner", "icl",
    "--set", "stream_options={num_classes: 8, examples_per_class: {train: 6, dev: 4, dev_test: 2, test: 2}, "
    "image_size: 8}",
    "--set", "checkpoint_every_steps=2",
    "--set", "learner_options={mode: meta_pretrain, width: 4, blocks_per_stage: [1], image_size: 8, label_vocab: 4, "
    "context_size: 6, queries_per_prompt: 2, prompts_per_step: 2, num_steps: 5, learning_rates: [0.01], "
    "meta_ways: [2, 4], meta_shots: [1, 3], eval_batch_size: 16, "
    "sequence: {d_model: 16, num_layers: 1, num_heads: 2, mixer: softmax}}",
    "--no-progress", "--no-plot",
]


def test_a_killed_pretraining_run_resumes_from_its_in_task_checkpoint(tmp_path):
  def env(log):
    return {"PYTHONPATH": os.pathsep.join([str(ICL_TESTS), os.environ.get("PYTHONPATH", "")]),
            "NEVIS_TEST_DUE_LOG": str(log), "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}

  def asked(log):
    return [int(step) for _, step in (line.split() for line in log.read_text().splitlines())]

  reference = tmp_path / "reference"
  done = nevis(reference, args=ARGS, env=env(tmp_path / "reference.log"))
  assert done.returncode == 0, done.stderr[-2000:]
  assert asked(tmp_path / "reference.log") == [1, 2, 3, 4, 5]
  workdir = tmp_path / "w"
  killed = nevis(workdir, crash_at="saved:0:4", args=ARGS, env=env(tmp_path / "killed.log"))
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  resumed = nevis(workdir, "--resume", args=ARGS, env=env(tmp_path / "resumed.log"))
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert asked(tmp_path / "resumed.log") == [5]  # steps 1-4 came from the checkpoint
  assert table(workdir) == table(reference)  # error, FLOPs, loss curve and dev episode error, bitwise
  final = load_tree(latest(workdir / "checkpoints", "state_")[1])
  assert leaves_equal(final["model"], load_tree(latest(reference / "checkpoints", "state_")[1])["model"])
