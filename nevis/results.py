"""The results store: one SQLite file per workdir, versioned schema, written in transactions.

Tables:
  meta(key, value)    schema version, resolved config, seed, library versions, stream and learner
  events(...)         one row per event: a `train` row per task (compute, prequential score, wall
                      time, parameter count) and an `eval` row per (model after task i, task j) scored
  tasks(...)          the stream's task list, written when the run starts
Raw predictions of every evaluation are saved beside it (predictions/*.npz) so results can be rescored.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

SCHEMA_VERSION = 1
DB_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  position INTEGER PRIMARY KEY, name TEXT NOT NULL, dataset TEXT NOT NULL, display_name TEXT,
  year INTEGER NOT NULL, kind TEXT NOT NULL, num_classes INTEGER NOT NULL, held_out INTEGER NOT NULL,
  source TEXT
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL CHECK (event IN ('train', 'eval', 'skip')),
  position INTEGER NOT NULL,          -- the task this row is about
  task TEXT NOT NULL,
  after_position INTEGER NOT NULL,    -- the model after training this task
  split TEXT,                         -- eval rows: dev_test or test
  error REAL, log_loss REAL, num_examples INTEGER,
  train_examples INTEGER,
  train_flops REAL, cumulative_train_flops REAL, prequential_flops REAL, eval_flops REAL,
  wall_time_s REAL, parameter_count INTEGER,
  prequential TEXT, preq_nats REAL, preq_bits REAL, preq_bits_per_example REAL, preq_ratio REAL,
  chunk_boundaries TEXT,
  predictions_path TEXT,
  info TEXT,                          -- JSON: what the learner recorded (chosen hyperparameters...)
  UNIQUE (event, position, after_position)
);
"""

EVENT_COLUMNS = (
    "event position task after_position split error log_loss num_examples train_examples train_flops "
    "cumulative_train_flops prequential_flops eval_flops wall_time_s parameter_count prequential preq_nats "
    "preq_bits preq_bits_per_example preq_ratio chunk_boundaries predictions_path info"
).split()


class ResultsStore:
  def __init__(self, workdir: str | Path):
    self.path = Path(workdir) / DB_NAME
    self._conn = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
    self._conn.execute("PRAGMA journal_mode=WAL")
    self._conn.execute("PRAGMA synchronous=FULL")
    with self.transaction() as c:
      for statement in _SCHEMA.strip().split(";"):
        if statement.strip():
          c.execute(statement)
      row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
      if row is None:
        c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
      elif int(row[0]) != SCHEMA_VERSION:
        from nevis.errors import UserError

        raise UserError(
            f"{self.path} has results schema v{row[0]}, this nevis reads v{SCHEMA_VERSION}; "
            "use a matching nevis version or a new workdir"
        )

  def close(self) -> None:
    # Fold the write-ahead log into the database file, so the workdir's results are one file at rest.
    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    self._conn.close()

  @contextlib.contextmanager
  def transaction(self):
    c = self._conn.cursor()
    c.execute("BEGIN IMMEDIATE")
    try:
      yield c
    except BaseException:
      c.execute("ROLLBACK")
      raise
    else:
      c.execute("COMMIT")

  # meta ------------------------------------------------------------------
  def get_meta(self, key: str, default: Any = None) -> Any:
    row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return json.loads(row[0]) if row else default

  def set_meta(self, items: dict[str, Any], cursor=None) -> None:
    def write(c):
      for key, value in items.items():
        c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True, default=str)))

    if cursor is not None:
      write(cursor)
    else:
      with self.transaction() as c:
        write(c)

  # tasks and events ----------------------------------------------------------
  def set_tasks(self, rows: Iterable[dict]) -> None:
    with self.transaction() as c:
      c.execute("DELETE FROM tasks")
      for r in rows:
        c.execute(
            "INSERT INTO tasks VALUES (:position, :name, :dataset, :display_name, :year, :kind, :num_classes,"
            " :held_out, :source)",
            r,
        )

  def record_task(self, events: list[dict], meta: dict | None = None) -> None:
    """Writes all rows of one finished task at once: a resumed run never sees half a task."""
    with self.transaction() as c:
      for e in events:
        row = {k: e.get(k) for k in EVENT_COLUMNS}
        for k in ("info", "chunk_boundaries"):
          if row[k] is not None and not isinstance(row[k], str):
            row[k] = json.dumps(row[k], sort_keys=True, default=str)
        c.execute(
            f"INSERT OR REPLACE INTO events ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join(':' + k for k in EVENT_COLUMNS)})",
            row,
        )
      if meta:
        self.set_meta(meta, cursor=c)

  def completed_positions(self) -> set[int]:
    rows = self._conn.execute("SELECT position FROM events WHERE event IN ('train', 'skip')").fetchall()
    return {r[0] for r in rows}

  def trained_positions(self) -> set[int]:
    return {r[0] for r in self._conn.execute("SELECT position FROM events WHERE event='train'").fetchall()}
