"""events.jsonl: one JSON object per line, written as things happen; a resumed run appends, with a resume event."""
import json
import subprocess
import sys

import pytest

import nevis

from .reporting_learner import STEPS, made_up_loss
from .subprocess_env import subprocess_env

RUN = ["--import", "tests.nevis.reporting_learner", "run", "--stream", "test_colours", "--learner", "test_reporting",
       "--set", "learner_options.num_steps=3", "--no-plot", "--no-progress", "--workdir", "w"]


def read_events(workdir):
  lines = (workdir / "events.jsonl").read_text().splitlines()
  return [json.loads(line) for line in lines]  # every line parses, or this fails


def test_every_line_parses_and_tells_the_run_in_order(run_cli, tmp_path):
  code, _, err = run_cli(*RUN)
  assert code == 0, err
  events = read_events(tmp_path / "w")
  per_task = ["task_start"] + ["trial_start", "progress", "trial_end"] * 2 + ["task_end"]
  assert [e["event"] for e in events] == ["run_start"] + per_task * 3 + ["run_end"]
  assert all(e["time"].endswith("+00:00") for e in events)
  start = events[0]
  assert (start["learner"], start["stream"], start["tasks"], start["config"]["seed"]) == ("test_reporting",
                                                                                          "test_colours", 3, 0)
  trial_end = events[4]
  assert trial_end == {**trial_end, "position": 0, "task": "colours_0", "phase": "train", "trial": 1,
                       "description": "colours_0 trial 1", "steps": STEPS, "values": {"loss": made_up_loss(0, 1, STEPS)}}
  progress = events[3]  # the first report of a trial is written at once; text ("note") is left out
  assert progress["values"] == {"loss": made_up_loss(0, 1, 1)} and progress["step"] == 1
  assert progress["learner_step"] == 1
  results = nevis.load_results(tmp_path / "w").tasks
  ends = [e for e in events if e["event"] == "task_end"]
  for end, (_, row) in zip(ends, results.iterrows()):
    for key in ("error", "log_loss", "train_flops", "cumulative_train_flops", "num_examples"):
      assert end[key] == pytest.approx(row[key], rel=1e-12), key
  assert events[-1] == {**events[-1], "status": "complete", "error": None}


def test_a_failed_run_resumed_appends_with_a_resume_event(run_cli, tmp_path, monkeypatch):
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_1")
  assert run_cli(*RUN)[0] == 2
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")
  first = read_events(tmp_path / "w")
  assert first[-1]["event"] == "run_end" and first[-1]["status"] == "failed"
  assert "cannot train colours_1" in first[-1]["error"]
  with open(tmp_path / "w" / "events.jsonl", "a") as f:
    f.write('{"time": "2026-01-01T00:00:00+00:00", "event": "trial_')  # what a kill in mid-write leaves
  code, _, err = run_cli("run", "--resume", "--workdir", "w", "--no-plot", "--no-progress")
  assert code == 0, err
  events = read_events(tmp_path / "w")
  assert events[: len(first)] == first  # nothing written before is changed
  resumed = events[len(first)]
  assert resumed["event"] == "resume" and resumed["completed"] == 1 and resumed["tasks"] == 3
  assert [e["position"] for e in events if e["event"] == "task_end"] == [0, 1, 2]
  assert events[-1]["status"] == "complete"


def test_a_killed_run_leaves_whole_lines_and_resumes_appending(tmp_path):
  env = subprocess_env({"NEVIS_TEST_CRASH_AT": "after_record:1", "NEVIS_DATA_DIR": str(tmp_path / "data")})
  command = [sys.executable, "-m", "nevis.cli", *RUN]
  killed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
  assert killed.returncode == -9, killed.stderr
  before = read_events(tmp_path / "w")
  assert before[-1]["event"] == "task_end" and before[-1]["position"] == 1  # no run_end: it was killed
  env.pop("NEVIS_TEST_CRASH_AT")
  resumed = subprocess.run([sys.executable, "-m", "nevis.cli", "run", "--resume", "--workdir", "w", "--no-plot",
                            "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr
  events = read_events(tmp_path / "w")
  assert [e["event"] for e in events[len(before):]][:2] == ["resume", "task_start"]
  assert events[len(before)]["completed"] == 2 and events[-1]["status"] == "complete"
  # The learner's step count goes on from the last recorded task: 2 tasks x 2 trials x STEPS before the kill.
  first_progress_after = next(e for e in events[len(before):] if e["event"] == "progress")
  assert first_progress_after["learner_step"] == 2 * 2 * STEPS + 1
