"""Progress: plain lines (one per trial and per task, no escape codes) when not on a terminal or with
`--progress plain`; bars on a terminal; nothing with `--progress none` / `--no-progress`."""
import io
import re

import pytest

from nevis.progress import resolve_mode

RUN = ["--import", "tests.nevis.reporting_learner", "run", "--stream", "test_colours", "--learner", "test_reporting",
       "--set", "learner_options.num_steps=3", "--no-plot", "--workdir", "w"]
CLOCK = r"\d\d:\d\d:\d\d "


def _plain_lines(err: str) -> list[str]:
  return [line for line in err.splitlines() if re.match(CLOCK, line)]


@pytest.mark.parametrize("flags", [[], ["--progress", "plain"]], ids=["not a terminal", "--progress plain"])
def test_plain_lines_one_per_trial_and_per_task_without_escape_codes(run_cli, flags):
  code, _, err = run_cli(*RUN, *flags)
  assert code == 0, err
  assert "\x1b" not in err and "\r" not in err
  lines = [line[9:] for line in _plain_lines(err)]
  assert len(lines) == len(err.strip().splitlines()) == 1 + 3 * 3 + 1, err
  assert lines[0] == "run w: test_reporting on test_colours, 3 tasks"
  assert lines[1] == "task 1/3 colours_0 (2000): trial 1 (colours_0 trial 1): 4/4 steps in " + lines[1].split(" in ")[1]
  assert re.fullmatch(r"task 1/3 colours_0 \(2000\): trial 2 \(colours_0 trial 2\): 4/4 steps in \d+\.\d s, "
                      r"loss 0\.204", lines[2])
  assert re.fullmatch(r"task 1/3 colours_0 \(2000\): error \d\.\d{4}, log-loss \d\.\d{4}, \S+ training FLOPs "
                      r"\(\S+ so far\), \d+\.\d s", lines[3]), lines[3]
  assert lines[9].startswith("task 3/3 colours_2 (2002): error")
  assert lines[10] == "run complete"


@pytest.mark.parametrize("flags", [["--no-progress"], ["--progress", "none"]])
def test_no_progress_prints_nothing(run_cli, flags):
  code, _, err = run_cli(*RUN, *flags)
  assert code == 0 and err == ""


def test_bars_draw_on_request(run_cli):
  code, _, err = run_cli(*RUN, "--progress", "bar")
  assert code == 0 and "\r" in err and not _plain_lines(err)


class _Terminal(io.StringIO):
  def isatty(self):
    return True


def test_the_default_is_bars_on_a_terminal_and_lines_elsewhere():
  assert resolve_mode(None, _Terminal()) == resolve_mode(True, _Terminal()) == "bar"
  assert resolve_mode(None, io.StringIO()) == "plain"
  assert resolve_mode(False) == resolve_mode("none") == "none"
  assert resolve_mode("plain", _Terminal()) == "plain"
  with pytest.raises(ValueError):
    resolve_mode("fancy")


def test_a_bad_progress_value_is_one_line(run_cli):
  code, _, err = run_cli(*RUN, "--progress", "fancy")
  assert code == 2 and len(err.strip().splitlines()) == 1 and "invalid choice: 'fancy'" in err
