"""The README's promises that code can check: two quick-start commands, and a first learner that runs."""
import re
import subprocess
import sys
from pathlib import Path

from tests.nevis.subprocess_env import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
  return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_quick_start_is_two_commands_install_and_run_and_install_and_test():
  (block,) = re.findall(r"```bash\n(.*?)```", _section("Quick start"), re.S)
  assert block.strip().splitlines() == ['pip install -e . && nevis run',
                                        'pip install -e ".[test]" && python -m pytest']
  assert "NEVIS_DATA_DIR" in _section("Quick start")


def test_the_first_learner_runs_as_written(tmp_path):
  section = _section("Your first learner")
  (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
  (tmp_path / "my_learner.py").write_text(code)
  commands = re.findall(r"```bash\n(.*?)```", section, re.S)
  assert commands[0].strip() == "nevis run --import my_learner --learner class_means --workdir runs/class_means"
  # The same command on two tasks of the test stream (seconds, no data to build), from the reader's folder.
  ran = subprocess.run(
      [sys.executable, "-c", "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
       "from nevis.cli import main; sys.exit(main())", "--import", "tests.nevis.linear_learner", "--import",
       "my_learner", "run", "--learner", "class_means", "--stream", "test_colours", "--set",
       "stream_options.num_tasks=2", "--workdir", "runs/class_means", "--no-plot"],
      cwd=tmp_path, env=subprocess_env({"NEVIS_DATA_DIR": str(tmp_path / "data")}), capture_output=True, text=True,
      timeout=300)
  assert ran.returncode == 0, ran.stderr
  assert "trial 1 (colours_0 class means): 1/1 steps" in ran.stderr
  assert re.search(r"summary: 2 tasks, mean error 0\.\d+", ran.stdout)
