"""`nevis learners NAME` and `nevis streams NAME`: summary, options (type, default, meaning), tasks and sizes."""
import dataclasses
import json

import numpy as np

import nevis
from nevis.options import Options, option

from .test_cli import assert_one_line_error

DOCUMENTED = ["--import", "tests.nevis.reporting_learner"]


def test_a_learners_options_with_type_default_and_meaning(run_cli):
  code, out, _ = run_cli(*DOCUMENTED, "learners", "test_documented")
  assert code == 0
  lines = out.splitlines()
  assert lines[0] == "test_documented: A learner whose options are documented."
  assert "More lines" not in out
  rows = {line.split()[0]: line.split(None, 3)[1:] for line in lines[3:]}
  assert lines[3].split() == ["name", "type", "default", "meaning"]
  assert rows["num_steps"] == ["int", "30", "gradient steps per task (>= 1)"]
  assert rows["optimizer"] == ["str", '"sgd"', "the update rule (sgd | adam)"]
  assert rows["schedule.warmup"] == ["float", "0.1", "fraction of the steps spent warming up (>= 0, <= 1)"]


def test_a_learner_without_options_says_so(run_cli, tmp_path):
  (tmp_path / "bare.py").write_text(
      "import nevis\n\n@nevis.register_learner('test_bare')\nclass Bare(nevis.Learner):\n  '''No options.'''\n")
  code, out, _ = run_cli("--import", "bare", "learners", "test_bare")
  assert code == 0
  assert out.splitlines() == ["test_bare: No options.", "",
                              "options (learner_options; in YAML, or --set learner_options.KEY=VALUE):", "  (none)"]


def test_long_meanings_wrap_to_the_terminal(run_cli, monkeypatch):
  monkeypatch.setenv("COLUMNS", "64")
  code, out, _ = run_cli(*DOCUMENTED, "learners", "test_documented")
  assert code == 0
  lines = out.splitlines()[4:]
  assert all(len(line) <= 64 for line in lines), lines
  assert lines[-2].endswith(" fraction of the steps spent")  # schedule.warmup's meaning, wrapped
  assert lines[-1] == " " * 35 + "warming up (>= 0, <= 1)"


def test_an_unknown_learner_is_one_line(run_cli):
  code, _, err = run_cli("learners", "test_linaer")
  assert_one_line_error(code, err, "unknown learner 'test_linaer'", "did you mean 'test_linear'")


@dataclasses.dataclass(frozen=True)
class SizedData:
  """A data source that knows its split sizes once 'prepared'."""

  dataset: str
  prepared: bool

  def status(self):
    return "prepared" if self.prepared else "missing"

  def split_sizes(self):
    return {"train": 40, "dev": 10, "dev_test": 11, "test": 12} if self.prepared else {}

  def size_bytes(self):
    return 1000 if self.prepared else 0

  def verify(self):
    pass

  def instructions(self):
    return "nothing to do"

  def prepare(self, *, manual_dir=None, force=False):
    pass


@dataclasses.dataclass(frozen=True)
class SizedOptions(Options):
  classes: int = option(4, "classes of every task", minimum=2)


@nevis.register_stream("test_sized", options=SizedOptions)
def sized_stream(options):
  """Two tasks, the first prepared."""
  tasks = []
  for i, prepared in enumerate((True, False)):
    info = nevis.TaskInfo(name=f"sized_{i}", dataset=f"sized_{i}", year=1990 + i, kind=nevis.TaskKind.SINGLE_LABEL,
                          class_names=tuple(f"c{k}" for k in range(options.classes)), image_shape=(2, 2, 3),
                          held_out=i == 1, source="made")
    tasks.append(nevis.Task(info, lambda split: nevis.SplitData(np.zeros((1, 2, 2, 3), np.uint8), np.zeros(1, np.int32)),
                            data=SizedData(info.dataset, prepared)))
  return nevis.Stream("test_sized", tasks)


def test_a_streams_options_tasks_years_classes_and_sizes(run_cli):
  code, out, _ = run_cli("streams", "test_sized")
  assert code == 0
  lines = out.splitlines()
  assert lines[0] == "test_sized: Two tasks, the first prepared."
  assert lines[4].split() == ["classes", "int", "4", "classes", "of", "every", "task", "(>=", "2)"]
  assert lines[6].startswith("2 tasks")
  assert lines[8].split() == ["1", "1990", "sized_0", "4", "single_label", "40/10/11/12", "made"]
  assert lines[9].split() == ["2", "1991", "sized_1", "4", "single_label", "-", "made", "(held", "out)"]
  code, out, _ = run_cli("streams", "test_sized", "--json")
  rows = json.loads(out)
  assert [r["sizes"] for r in rows] == [{"train": 40, "dev": 10, "dev_test": 11, "test": 12}, None]
  assert [r["year"] for r in rows] == [1990, 1991] and rows[0]["classes"] == 4
