"""The results store: written in transactions, read back read-only, its schema version checked on read."""
from __future__ import annotations

import hashlib
import sqlite3

import pytest

from nevis import results
from nevis.errors import UserError
from nevis.results import CorruptResultsError, ResultsStore
from nevis.task import TaskInfo, TaskKind


@pytest.fixture
def workdir(tmp_path):
  """A small run's results: one task, its train and eval events."""
  info = TaskInfo(name="a", dataset="a", year=2000, kind=TaskKind.SINGLE_LABEL, class_names=("x", "y"),
                  image_shape=(4, 4, 3), source="test")
  with ResultsStore(tmp_path) as store:
    store.set_meta({"config": {"learner": "l"}, "status": "complete"})
    store.set_tasks([results.task_row(0, info)])
    store.record_task([dict(event="train", position=0, task="a", after_position=0, info={"lr": 0.1}),
                       dict(event="eval", position=0, task="a", after_position=0, split="dev_test", error=0.25)])
  return tmp_path


def digest(path):
  return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_reads_every_table_and_writes_nothing(workdir):
  before = {p.name: digest(p) for p in workdir.iterdir()}
  with ResultsStore(workdir, read_only=True) as store:
    meta, events, tasks = store.tables()
    assert store.completed_positions() == {0} and store.get_meta("status") == "complete"
    with pytest.raises(RuntimeError, match="read-only"):
      store.set_meta({"status": "running"})
  assert meta["config"] == {"learner": "l"} and meta["schema_version"] == results.SCHEMA_VERSION
  assert list(events["event"]) == ["train", "eval"] and events["error"][1] == 0.25
  assert list(tasks["name"]) == ["a"] and tasks["num_classes"][0] == 2
  assert {p.name: digest(p) for p in workdir.iterdir()} == before  # no journal, no change


@pytest.mark.parametrize("version, readable", [("1", True), ("2", True), ("3", True), ("4", False), ("x", False)])
def test_the_schema_version_is_checked_on_read(workdir, version, readable):
  with sqlite3.connect(workdir / results.DB_NAME) as conn:
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (version,))
  if readable:
    ResultsStore(workdir, read_only=True).close()
    return
  with pytest.raises(UserError, match=r"has results schema v\S+, this nevis reads v1 to v3") as error:
    ResultsStore(workdir, read_only=True)
  assert "\n" not in str(error.value)


def test_read_only_names_what_is_missing_or_not_results(tmp_path, workdir):
  with pytest.raises(UserError, match="is not a folder"):
    ResultsStore(tmp_path / "nowhere", read_only=True)
  with pytest.raises(UserError, match=r"holds no results \(results.sqlite missing\)"):
    ResultsStore(workdir / "..", read_only=True)
  other = tmp_path / "other"
  other.mkdir()
  with sqlite3.connect(other / results.DB_NAME) as conn:
    conn.execute("CREATE TABLE photos (id INTEGER)")
  with pytest.raises(CorruptResultsError, match="but not nevis results"):
    ResultsStore(other, read_only=True)
