import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
  """Runs `nevis ...` in-process; returns (exit code, stdout, stderr)."""
  from nevis import cli

  monkeypatch.chdir(tmp_path)
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path / "data"))

  def run(*args):
    code = cli.main(["--import", "linear_learner", *args])
    out = capsys.readouterr()
    return code, out.out, out.err

  return run
