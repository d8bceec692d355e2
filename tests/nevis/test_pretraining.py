"""nevis.pretraining: the harness reads what the runs a learner starts from cost from their own results."""
from __future__ import annotations

import json
import sqlite3

import pytest

import nevis
from nevis import config as config_lib, pretraining
from nevis.errors import ConfigError
from nevis.runner import Runner
from tests.nevis import linear_learner

SOURCES: dict[str, tuple[str, ...]] = {}  # learner name -> the workdirs it says it starts from


class StartsFrom(linear_learner.LinearLearner):
  """test_linear that claims to start from the workdirs SOURCES names for it (and reads nothing from them)."""

  def starts_from(self):
    return SOURCES.get("test_starts_from", ())


nevis.register_learner("test_starts_from")(StartsFrom)


def run_on_colours(workdir, learner="test_linear", **overrides):
  config = config_lib.resolve({"stream": "test_colours", "learner": learner,
                               "imports": ["tests.nevis.linear_learner"], **overrides})
  Runner(config, workdir, progress=False).run()
  return nevis.load_results(workdir)


def test_pretraining_compute_is_the_sources_training_total_and_chains_add_up(tmp_path):
  first = run_on_colours(tmp_path / "first")
  assert first.meta[pretraining.META_KEY] is None and pretraining.pretraining_flops(first.meta) == 0.0
  first_train = first.meta["meter"]["flops"]["train"]
  assert first_train == float(first.tasks["cumulative_train_flops"].iloc[-1]) > 0

  SOURCES["test_starts_from"] = (str(tmp_path / "first"),)
  second = run_on_colours(tmp_path / "second", learner="test_starts_from", learner_options={"num_steps": 10})
  record = second.meta[pretraining.META_KEY]
  assert record == {"flops": first_train, "runs": [{"workdir": str((tmp_path / "first").absolute()),
                                                     "train_flops": first_train, "pretraining_flops": 0.0}]}
  second_train = second.meta["meter"]["flops"]["train"]
  assert second_train < first_train  # 10 steps a task against 30: the two totals are not mixed up

  SOURCES["test_starts_from"] = (str(tmp_path / "second"), str(tmp_path / "first"))
  third = run_on_colours(tmp_path / "third", learner="test_starts_from")
  assert pretraining.pretraining_flops(third.meta) == pytest.approx(second_train + first_train + first_train)
  assert [run["pretraining_flops"] for run in third.meta[pretraining.META_KEY]["runs"]] == [first_train, 0.0]


@pytest.mark.parametrize("damage, message", [
    ("missing", "holds no results"),
    ("running", "is not complete"),
    ("garbage", "cannot be read"),
])
def test_a_source_that_is_not_a_finished_run_is_one_line_before_the_workdir_is_made(tmp_path, damage, message):
  source = tmp_path / "source"
  if damage != "missing":
    run_on_colours(source)
  if damage == "running":
    with sqlite3.connect(source / "results.sqlite") as db:
      db.execute("UPDATE meta SET value=? WHERE key='status'", (json.dumps("running"),))
  if damage == "garbage":
    (source / "results.sqlite").write_bytes(b"not a database at all" * 10)
  SOURCES["test_starts_from"] = (str(source),)
  with pytest.raises(ConfigError, match=message) as error:
    run_on_colours(tmp_path / "new", learner="test_starts_from")
  assert "\n" not in str(error.value) and not (tmp_path / "new").exists()
