"""The results store: one SQLite file per workdir, versioned schema, written in transactions.

Tables:
  meta(key, value)    schema version, resolved config, seed, library versions, stream and learner, run
                      status (running / complete / failed / interrupted) and, for a failed run, the task
                      it failed on and the error
  events(...)         one row per event: a `train` row per task (compute, prequential score, wall
                      time, parameter count, the learner's time and memory) and an `eval` row per (model
                      after task i, task j) scored
  tasks(...)          the stream's task list, written when the run starts
Raw predictions of every evaluation are saved beside it (predictions/*.npz) so results can be rescored.

The file is created whole (written aside, then renamed into place), so a results.sqlite that is empty or
not a database was not left by a nevis run: it is reported as corrupt, never silently started afresh.
Older files are read as they are and upgraded in place when a run in them is resumed: v1 (before the
learner's time and memory were recorded) and v2 (before compute budgets were recorded).

This module holds every SQL statement of nevis. Two ways in:
  ResultsStore(workdir)                  the runner's: creates the file if needed, writes in transactions
  ResultsStore(workdir, read_only=True)  `nevis report`, plots, `nevis.load_results`: opens the file
                                         read-only (read-only media included) and writes nothing
Both check, before anything else, that the file is a whole nevis results database of a schema version
this nevis reads (v1, v2 or v3): a newer or unknown version is a one-line error.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from nevis.errors import UserError
from nevis.task import TaskInfo

SCHEMA_VERSION = 3
DB_NAME = "results.sqlite"
# What SQLite raises when it cannot read or write (a full disk, a read-only folder, a damaged file).
StoreError = sqlite3.Error
# Columns added in v2: (name, SQL type).
_V2_COLUMNS = (
    ("learner_wall_s", "REAL"), ("learner_cpu_s", "REAL"), ("peak_host_bytes", "INTEGER"),
    ("peak_device_bytes", "INTEGER"), ("eager_flops", "REAL"), ("unmetered", "TEXT"), ("meter_totals", "TEXT"),
)
# Columns added in v3: the compute budget of each task's training and whether it bound.
_V3_COLUMNS = (("budget_flops", "REAL"), ("budget_bound", "INTEGER"))
# The columns each version added, by the version before it.
_ADDED_AFTER = {1: _V2_COLUMNS, 2: _V3_COLUMNS}


class CorruptResultsError(UserError):
  """results.sqlite cannot be read as a nevis results database."""

  def __init__(self, what: str):
    super().__init__(f"{what}; restore it from a backup, or start the run again in a new --workdir "
                     "(nevis leaves this one as it is)")

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
  learner_wall_s REAL, learner_cpu_s REAL,  -- inside the learner's code for this task
  peak_host_bytes INTEGER, peak_device_bytes INTEGER,  -- resident-set / device high-water marks
  eager_flops REAL,                   -- of train_flops + prequential_flops + eval_flops: eager JAX operations
  unmetered TEXT,                     -- JSON: helper work the learner declared (task.unmetered), or null
  meter_totals TEXT,                  -- JSON: the meter's totals after the task (to train it again)
  budget_flops REAL,                  -- train rows: training FLOPs the compute budget allowed this task
  budget_bound INTEGER,               -- 1 when the budget refused a call of this task's training, else 0
  prequential TEXT, preq_nats REAL, preq_bits REAL, preq_bits_per_example REAL, preq_ratio REAL,
  chunk_boundaries TEXT,
  predictions_path TEXT,
  info TEXT,                          -- JSON: what the learner recorded (chosen hyperparameters...)
  UNIQUE (event, position, after_position)
);
"""

EVENT_COLUMNS = (
    "event position task after_position split error log_loss num_examples train_examples train_flops "
    "cumulative_train_flops prequential_flops eval_flops wall_time_s parameter_count learner_wall_s learner_cpu_s "
    "peak_host_bytes peak_device_bytes eager_flops unmetered meter_totals budget_flops budget_bound prequential "
    "preq_nats preq_bits preq_bits_per_example preq_ratio chunk_boundaries predictions_path info"
).split()

# Measurements of the machine, not of the computation: they differ between an interrupted-and-resumed run
# and an uninterrupted one (and between two identical runs); every other column is reproducible.
MACHINE_COLUMNS = ("id", "wall_time_s", "learner_wall_s", "learner_cpu_s", "peak_host_bytes", "peak_device_bytes")


def create(workdir: str | Path) -> None:
  """Writes an empty results database beside `workdir/results.sqlite` and renames it into place."""
  path = Path(workdir) / DB_NAME
  staging = path.with_name(f".{DB_NAME}.{os.getpid()}.tmp")
  staging.unlink(missing_ok=True)
  try:
    with contextlib.closing(sqlite3.connect(staging, isolation_level=None)) as conn:
      conn.execute("BEGIN")
      for statement in _SCHEMA.strip().split(";"):
        if statement.strip():
          conn.execute(statement)
      conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
      conn.execute("COMMIT")
    with open(staging, "rb+") as f:
      os.fsync(f.fileno())
    os.replace(staging, path)
  finally:
    staging.unlink(missing_ok=True)


def check_readable(path: Path) -> None:
  """CorruptResultsError unless `path` is a non-empty SQLite file (cheap: the header only)."""
  size = path.stat().st_size
  if size == 0:
    raise CorruptResultsError(f"{path} is empty (0 bytes), so it holds no results")
  with open(path, "rb") as f:
    header = f.read(16)
  if header != b"SQLite format 3\x00":
    raise CorruptResultsError(f"{path} is not a SQLite database (bad header: overwritten or not from nevis)")


class ResultsStore:
  def __init__(self, workdir: str | Path, *, read_only: bool = False):
    self.path = Path(workdir) / DB_NAME
    self.read_only = read_only
    if read_only:
      self._conn = _open_read_only(Path(workdir), self.path)
      return
    if not self.path.exists():
      create(workdir)
    check_readable(self.path)
    try:
      # Checked read-only first: a damaged file, or another program's database, is left exactly as it is.
      with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as probe:
        check_integrity(probe, self.path)
        schema_version(probe, self.path)
      self._conn = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
      self._conn.execute("PRAGMA journal_mode=WAL")
      self._conn.execute("PRAGMA synchronous=FULL")
      with self.transaction() as c:
        self._check_schema(c)
    except sqlite3.DatabaseError as e:
      raise CorruptResultsError(f"{self.path} cannot be read ({e})") from None

  def __enter__(self) -> "ResultsStore":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def _check_schema(self, c) -> None:
    version = schema_version(c, self.path)
    if version < SCHEMA_VERSION:  # later versions only added columns
      for old in range(version, SCHEMA_VERSION):
        for name, kind in _ADDED_AFTER[old]:
          c.execute(f"ALTER TABLE events ADD COLUMN {name} {kind}")
      c.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

  def close(self, *, quiet: bool = False) -> None:
    """`quiet`: a failure to fold the log in (a full disk) is not raised, so that it cannot hide the error
    that stopped the run; the file is whole either way."""
    if self.read_only:
      self._conn.close()
      return
    # Fold the write-ahead log into the database file and leave it in rollback-journal mode, so the
    # workdir's results are one file at rest that opens read-only even on read-only media.
    try:
      self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
      self._conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error:
      if not quiet:
        raise
    finally:
      self._conn.close()

  @contextlib.contextmanager
  def transaction(self):
    if self.read_only:
      raise RuntimeError(f"{self.path} is open read-only")
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

  def meta(self) -> dict[str, Any]:
    return _meta(self._conn)

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
        for k in ("info", "chunk_boundaries", "unmetered", "meter_totals"):
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

  def train_event(self, position: int) -> dict | None:
    self._conn.row_factory = sqlite3.Row
    try:
      row = self._conn.execute("SELECT * FROM events WHERE event='train' AND position=?", (position,)).fetchone()
    finally:
      self._conn.row_factory = None
    return dict(row) if row else None

  def forget_task(self, position: int) -> None:
    """Removes the events recorded after training `position` (to train that task again)."""
    with self.transaction() as c:
      c.execute("DELETE FROM events WHERE after_position=? OR (event='skip' AND position=?)", (position, position))

  def prediction_paths(self) -> list[str]:
    rows = self._conn.execute("SELECT predictions_path FROM events WHERE predictions_path IS NOT NULL").fetchall()
    return [r[0] for r in rows]

  # whole tables, for reports ---------------------------------------------------
  def tables(self):
    """(meta, events, tasks): the meta mapping and pandas DataFrames of the events (in the order they were
    recorded) and of the stream's tasks; CorruptResultsError when the tables are not what nevis writes."""
    import pandas as pd  # slow to import; only reports need it

    try:
      events = pd.read_sql_query("SELECT * FROM events ORDER BY id", self._conn)
      tasks = pd.read_sql_query("SELECT * FROM tasks ORDER BY position", self._conn)
      return self.meta(), events, tasks
    except sqlite3.DatabaseError as e:
      raise CorruptResultsError(f"{self.path} cannot be read ({e})") from None
    except (KeyError, ValueError) as e:  # tables present but not what nevis writes
      raise CorruptResultsError(f"{self.path} does not hold nevis results ({type(e).__name__}: {e})") from None


def task_row(position: int, info: TaskInfo) -> dict:
  """A row of the tasks table."""
  return dict(position=position, name=info.name, dataset=info.dataset, display_name=info.display_name,
              year=info.year, kind=info.kind.value, num_classes=info.num_classes, held_out=int(info.held_out),
              source=info.source)


def _open_read_only(workdir: Path, path: Path) -> sqlite3.Connection:
  """A read-only connection to a checked results file; one-line errors for a missing, damaged or newer one."""
  if not workdir.is_dir():
    raise UserError(f"{str(workdir)!r} is not a folder; pass a run's workdir")
  if not path.is_file():
    raise UserError(f"{str(workdir)!r} holds no results ({DB_NAME} missing); pass a run's workdir")
  check_readable(path)
  try:
    try:
      conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
      conn.execute("SELECT 1 FROM sqlite_master").fetchall()
    except sqlite3.OperationalError:
      # Read-only media: a file written in WAL mode (schema v1) wants a shared-memory file beside it. A
      # finished run's log is folded in already, so reading it as immutable is exact.
      conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
      check_integrity(conn, path)
      schema_version(conn, path)
      _meta(conn)
    except BaseException:
      conn.close()
      raise
  except sqlite3.DatabaseError as e:
    raise CorruptResultsError(f"{path} cannot be read ({e})") from None
  except ValueError as e:  # meta values that are not JSON
    raise CorruptResultsError(f"{path} does not hold nevis results ({type(e).__name__}: {e})") from None
  return conn


def _meta(conn) -> dict[str, Any]:
  return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def schema_version(conn, path: Path) -> int:
  """The schema version of a results database this nevis reads (1 to SCHEMA_VERSION); one-line errors otherwise."""
  tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
  if not {"meta", "events", "tasks"} <= tables:
    raise CorruptResultsError(f"{path} is a SQLite database but not nevis results (tables: {sorted(tables)})")
  row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
  version = int(row[0]) if row and str(row[0]).isdigit() else None
  if version not in range(1, SCHEMA_VERSION + 1):
    raise UserError(
        f"{path} has results schema v{version}, this nevis reads v1 to v{SCHEMA_VERSION}; "
        "use the nevis version that wrote it, or a new workdir"
    )
  return version


def read_meta(path: Path) -> dict:
  """The meta table, read without writing anything (CorruptResultsError if unreadable)."""
  check_readable(path)
  try:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
      schema_version(conn, path)
      return _meta(conn)
  except sqlite3.DatabaseError as e:
    raise CorruptResultsError(f"{path} cannot be read ({e})") from None


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
  """CorruptResultsError when SQLite finds the file damaged (a truncated or partly overwritten file)."""
  result = conn.execute("PRAGMA quick_check").fetchone()[0]
  if result != "ok":
    raise CorruptResultsError(f"{path} is damaged ({result})")
