"""`nevis run --resume --workdir W` continues with the config stored in the run; flags must agree with it."""
import json
import sqlite3
import textwrap

import nevis

from .test_cli import RUN, assert_one_line_error

REPORTING = ["--import", "tests.nevis.reporting_learner", "run", "--stream", "test_colours", "--learner",
             "test_reporting", "--no-progress", "--no-plot", "--set", "learner_options.num_steps=5",
             "--set", "seed=3"]


def _failed_run(run_cli, monkeypatch, workdir="w"):
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_1")
  code, _, err = run_cli(*REPORTING, "--workdir", workdir)
  assert code == 2 and "recorded as failed" in err
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")


def test_resume_alone_continues_with_the_stored_config(run_cli, tmp_path, monkeypatch):
  _failed_run(run_cli, monkeypatch)
  code, out, err = run_cli("run", "--resume", "--workdir", "w", "--no-plot", "--no-progress")
  assert code == 0, err
  results = nevis.load_results(tmp_path / "w")
  assert results.meta["status"] == "complete" and len(results.tasks) == 3
  config = results.meta["config"]
  assert (config["learner"], config["seed"], config["learner_options"]) == ("test_reporting", 3, {"num_steps": 5})
  assert config["imports"] == ["tests.nevis.linear_learner", "tests.nevis.reporting_learner"]


def test_resume_with_the_original_flags_or_a_part_of_them_is_no_change(run_cli, tmp_path, monkeypatch):
  _failed_run(run_cli, monkeypatch)
  (tmp_path / "c.yaml").write_text("learner: test_reporting\nlearner_options: {num_steps: 5}\n")
  code, _, err = run_cli("run", "c.yaml", "--set", "seed=3", "--resume", "--workdir", "w", "--no-progress",
                         "--no-plot")
  assert code == 0, err


def test_resume_with_a_conflicting_flag_is_one_line_naming_each_difference(run_cli, tmp_path, monkeypatch):
  _failed_run(run_cli, monkeypatch)
  before = (tmp_path / "w" / "results.sqlite").read_bytes()
  code, _, err = run_cli("run", "--resume", "--workdir", "w", "--set", "seed=4", "--learner", "test_linear")
  assert_one_line_error(code, err, "--resume with a changed config", "learner: 'test_reporting' -> 'test_linear'",
                        "seed: 3 -> 4", "stored -> given", "`nevis run --resume --workdir w` alone")
  (tmp_path / "c.yaml").write_text("learner_options: {num_steps: 6}\n")
  code, _, err = run_cli("run", "c.yaml", "--resume", "--workdir", "w")
  assert_one_line_error(code, err, "learner_options.num_steps: 5 -> 6")
  code, _, err = run_cli("--import", "tests.nevis.hostile_learners", "run", "--resume", "--workdir", "w")
  assert_one_line_error(code, err, "imports: ['tests.nevis.linear_learner', 'tests.nevis.reporting_learner'] -> "
                                   "['tests.nevis.linear_learner', 'tests.nevis.reporting_learner', "
                                   "'tests.nevis.hostile_learners']")
  assert (tmp_path / "w" / "results.sqlite").read_bytes() == before  # refused before anything ran


def test_a_run_stored_before_a_config_key_existed_resumes(run_cli, tmp_path, monkeypatch):
  """Keys added to RunConfig since a run started are at their defaults in it (here: `loggers`)."""
  _failed_run(run_cli, monkeypatch)
  with sqlite3.connect(tmp_path / "w" / "results.sqlite") as conn:
    (text,) = conn.execute("SELECT value FROM meta WHERE key='config'").fetchone()
    config = json.loads(text)
    del config["loggers"]
    conn.execute("UPDATE meta SET value=? WHERE key='config'", (json.dumps(config),))
  code, _, err = run_cli("run", "--resume", "--workdir", "w", "--no-progress", "--no-plot")
  assert code == 0, err


def test_the_changed_config_check_of_a_run_without_flags_given(run_cli, tmp_path):
  """Without --resume, the flags make the config, and a workdir holding a run is refused as before."""
  assert run_cli(*RUN, "--workdir", "w", "--no-plot", "--set", "max_tasks=1")[0] == 0
  code, _, err = run_cli(*RUN, "--workdir", "w", "--set", "max_tasks=1")
  assert_one_line_error(code, err, "already holds a run", "--resume")
  (tmp_path / "c.yaml").write_text(textwrap.dedent("""
      stream: test_colours
      learner: test_linear
      max_tasks: 1
  """))
  code, _, err = run_cli("run", "c.yaml", "--workdir", "w", "--resume", "--no-plot")
  assert code == 0, err
