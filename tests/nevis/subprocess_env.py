"""Environment for subprocess runs of these tests: their learners are imported as `tests.nevis.<module>`."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the folder holding `tests/`


def subprocess_env(extra=None):
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
  env.update(extra or {})
  return env
