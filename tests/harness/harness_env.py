"""Environment for subprocess runs of the harness tests (their learners live in this folder)."""
import os
from pathlib import Path

HERE = Path(__file__).parent


def subprocess_env(extra=None):
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
  env.update(extra or {})
  return env
