import pytest


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
  """Runs `nevis ...` in-process; returns (exit code, stdout, stderr)."""
  from nevis import cli

  monkeypatch.chdir(tmp_path)
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path / "data"))

  def run(*args):
    code = cli.main(["--import", "tests.nevis.linear_learner", *args])
    out = capsys.readouterr()
    return code, out.out, out.err

  return run


@pytest.fixture
def project(tmp_path, monkeypatch):
  """A user's project folder holding files nevis did not write (see hostile_env.FOREIGN), as the cwd."""
  from .hostile_env import make_project

  root = make_project(tmp_path / "proj")
  monkeypatch.chdir(root)
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path / "store"))
  for name in ("NEVIS_RUNS_DIR", "NEVIS_TEST_FAIL_TASK"):
    monkeypatch.delenv(name, raising=False)
  return root
