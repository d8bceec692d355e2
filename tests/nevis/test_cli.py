"""The command line: listings, reports, and one clear line with exit code 2 for every bad input."""
import subprocess
import sys
import textwrap

import pytest

RUN = ["run", "--stream", "test_colours", "--learner", "test_linear", "--no-progress"]


def assert_one_line_error(code, err, *fragments):
  assert code == 2
  lines = [l for l in err.strip().splitlines() if l.strip()]
  assert len(lines) == 1, err
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


def test_run_report_and_plot(run_cli, tmp_path):
  code, out, err = run_cli(*RUN, "--workdir", "w1")
  assert code == 0, err
  assert "mean error" in out and "plot:" in out
  assert (tmp_path / "w1" / "plot.png").stat().st_size > 10_000
  code, out, _ = run_cli("report", "w1", "--csv", "all.csv")
  assert code == 0 and "colours_2" in out
  import pandas as pd

  table = pd.read_csv(tmp_path / "all.csv")
  assert list(table["task"]) == ["colours_0", "colours_1", "colours_2"]
  assert (table["learner"] == "test_linear").all()
  code, out, _ = run_cli("plot", "w1", "w1", "-o", "both.png")
  assert code == 0 and (tmp_path / "both.png").exists()


def test_default_workdir_goes_under_runs(run_cli, tmp_path):
  code, out, err = run_cli(*RUN, "--no-plot")
  assert code == 0, err
  (workdir,) = (tmp_path / "runs").iterdir()
  assert workdir.name.endswith("test_linear-test_colours")
  assert f"results: runs/{workdir.name}" in out


def test_listings(run_cli):
  code, out, _ = run_cli("learners")
  assert code == 0
  names = [line.split()[0] for line in out.strip().splitlines()]
  assert names == sorted(names) and "test_linear" in names
  code, out, _ = run_cli("learners", "test_linear")
  assert code == 0 and out.startswith("test_linear: Softmax regression")
  assert {line.split()[0] for line in out.splitlines()[2:]} >= {"num_steps", "batch_size", "learning_rate"}
  code, out, _ = run_cli("streams")
  assert code == 0 and "test_colours" in out
  code, out, _ = run_cli("streams", "test_colours", "--json")
  import json

  rows = json.loads(out)
  assert [r["name"] for r in rows] == ["colours_0", "colours_1", "colours_2"]
  assert set(rows[0]) >= {"position", "year", "key", "display_name", "classes", "kind", "source", "held_out"}


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["run", "--stream", "test_colour", "--learner", "test_linear"], ["unknown stream 'test_colour'", "did you mean 'test_colours'"]),
        (["run", "--stream", "test_colours", "--learner", "test_linaer"], ["unknown learner 'test_linaer'", "did you mean 'test_linear'"]),
        (RUN + ["--set", "sed=1"], ["unknown config key 'sed'", "did you mean 'seed'"]),
        (RUN + ["--set", "seed=one"], ["seed must be an integer"]),
        (RUN + ["--set", "evaluate_past=maybe"], ["evaluate_past must be true or false"]),
        (RUN + ["--set", "evaluate_on=train"], ["evaluate_on must be one of dev_test, test"]),
        (RUN + ["--set", "learner_options.num_step=3"], ["unknown key 'num_step'", "did you mean 'num_steps'"]),
        (RUN + ["--set", "learner_options.num_steps=many"], ["num_steps must be an integer"]),
        (RUN + ["--stream", "synthetic", "--set", "stream_options.num_task=2"],
         ["stream 'synthetic': unknown key 'num_task' for stream_options", "did you mean 'num_tasks'"]),
        (["run", "missing.yaml"], ["config file 'missing.yaml' does not exist"]),
        (["run", "--resume"], ["--resume needs --workdir"]),
        (["--import", "no_such_module_xyz", "learners"], ["cannot import 'no_such_module_xyz'"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_leaves_nothing(run_cli, tmp_path, args, fragments):
  code, out, err = run_cli(*args)
  assert_one_line_error(code, err, *fragments)
  runs = tmp_path / "runs"
  assert not runs.exists() or not any(runs.iterdir()), "nothing half-written"


@pytest.mark.parametrize(
    "learner, fragments",
    [("test_bad_shape", ["shape (128, 4)", "expected (128, 3)"]), ("test_nan", ["NaN or infinite scores"])],
)
def test_a_learner_breaking_the_protocol_fails_the_run_which_is_kept_as_failed(run_cli, tmp_path, learner, fragments):
  code, out, err = run_cli("run", "--stream", "test_colours", "--learner", learner, "--no-progress")
  assert_one_line_error(code, err, *fragments, "recorded as failed", "--resume --workdir runs/")
  (workdir,) = (tmp_path / "runs").iterdir()
  import nevis

  results = nevis.load_results(workdir)
  assert results.meta["status"] == "failed"
  assert results.meta["failure"]["task"] == "colours_0" and fragments[0] in results.meta["failure"]["error"]


def test_malformed_yaml(run_cli, tmp_path):
  (tmp_path / "bad.yaml").write_text("stream: test_colours\nlearner: [unclosed\n")
  code, _, err = run_cli("run", "bad.yaml")
  assert_one_line_error(code, err, "malformed YAML in 'bad.yaml' at line")


def test_yaml_config_and_imports(run_cli, tmp_path):
  (tmp_path / "c.yaml").write_text(textwrap.dedent("""
      stream: test_colours
      learner: test_linear
      imports: [tests.nevis.linear_learner]
      learner_options: {num_steps: 5}
      stream_options: {num_tasks: 2}
      prequential: off
  """))
  code, out, err = run_cli("run", "c.yaml", "--workdir", "w", "--no-plot")
  assert code == 0, err
  import nevis

  results = nevis.load_results(tmp_path / "w")
  assert len(results.tasks) == 2 and results.meta["config"]["prequential"] == "off"


def test_resume_with_a_changed_config_is_refused(run_cli, tmp_path):
  assert run_cli(*RUN, "--workdir", "w", "--no-plot", "--set", "max_tasks=1")[0] == 0
  code, _, err = run_cli(*RUN, "--workdir", "w", "--resume", "--set", "max_tasks=1", "--set", "seed=3")
  assert_one_line_error(code, err, "changed config", "seed: 0 -> 3")
  code, _, err = run_cli(*RUN, "--workdir", "w", "--set", "max_tasks=1")
  assert_one_line_error(code, err, "already holds a run", "--resume")
  code, _, err = run_cli(*RUN, "--workdir", "w", "--resume", "--set", "max_tasks=1")
  assert code == 0, err


def test_resume_of_nothing_is_refused(run_cli):
  code, _, err = run_cli(*RUN, "--workdir", "nothing", "--resume")
  assert_one_line_error(code, err, "holds no run to resume")


def test_a_locked_workdir_is_refused(run_cli, tmp_path):
  (tmp_path / "w").mkdir()
  holder = subprocess.Popen(
      [sys.executable, "-c", "import fcntl,sys,time; f=open(sys.argv[1],'w'); "
       "fcntl.flock(f, fcntl.LOCK_EX); f.write('pid test'); f.flush(); print('ok', flush=True); time.sleep(60)",
       str(tmp_path / "w" / "lock")],
      stdout=subprocess.PIPE, text=True,
  )
  try:
    assert holder.stdout.readline().strip() == "ok"
    code, _, err = run_cli(*RUN, "--workdir", "w")
    assert_one_line_error(code, err, "is in use by pid test")
    assert not (tmp_path / "w" / "results.sqlite").exists()
  finally:
    holder.kill()


def test_report_of_a_folder_without_results(run_cli, tmp_path):
  (tmp_path / "empty").mkdir()
  code, _, err = run_cli("report", "empty")
  assert_one_line_error(code, err, "holds no results")
