"""One run of a sweep, inside a worker process: an ordinary `Runner` run in the run's own workdir.

Every attempt is the same call: a workdir that already holds results is resumed (`Runner(resume=True)`),
so an attempt after a worker died continues from the run's last checkpoint and produces the numbers an
uninterrupted run would have. A run that fails on its own (a bad option, the learner's code raising) is
recorded as failed in its results and reported, never retried: it would fail again. Only the death of the
worker process itself (SIGKILL, the OOM killer, a lost node) is retried, by the executor.

The run's output (warnings, the learner's prints) goes to `<name>.log` beside its workdir. This module
imports nothing heavy at the top: a fresh worker sets its environment (GPU, memory) before JAX loads.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import sys
from pathlib import Path

COMPLETE, FAILED, INTERRUPTED = "complete", "failed", "interrupted"


def run_one(workdir: str, config: dict, log: str) -> dict:
  """Runs (or continues) one run; returns {"status", "error", "resumed"}. Raises nothing a run can raise."""
  from nevis import failures
  from nevis.errors import UserError
  from nevis.results import DB_NAME
  from nevis.runner import Runner

  resumed = (Path(workdir) / DB_NAME).exists()
  with _output_to(log, f"{'continuing' if resumed else 'starting'} the run in {workdir}"):
    try:
      Runner(config, workdir, resume=resumed, progress=False).run()
      return {"status": COMPLETE, "error": None, "resumed": resumed}
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM where nevis.failures.install_sigterm is in force
      return {"status": INTERRUPTED, "error": failures.one_line(e), "resumed": resumed}
    except UserError as e:
      print(f"nevis: error: {failures.one_line(e)}", file=sys.stderr)
      return {"status": FAILED, "error": failures.one_line(e), "resumed": resumed}
    except Exception as e:  # a bug: recorded in the run's results by the runner; its traceback goes to the log
      import traceback

      traceback.print_exc()
      return {"status": FAILED, "error": failures.one_line(e), "resumed": resumed}


def process_main(workdir: str, config: dict, log: str, environment: dict, connection) -> None:
  """Entry of a `local` executor's worker process (started fresh for each attempt)."""
  os.environ.update(environment)  # before JAX is imported: which GPU, whether to preallocate its memory
  import threading

  from tqdm import tqdm

  from nevis import failures

  # tqdm's default lock is a multiprocessing semaphore, registered with this sweep's resource tracker: a worker
  # killed by SIGKILL would leave it behind, and a warning at the sweep's end. A worker writes one log alone.
  tqdm.set_lock(threading.RLock())
  failures.install_sigterm()  # the executor stops a sweep with SIGTERM: the run is recorded as interrupted
  connection.send(run_one(workdir, config, log))
  connection.close()


@contextlib.contextmanager
def _output_to(log: str, header: str):
  """File descriptors 1 and 2 (Python's and native code's output) appended to `log`, then put back."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
  try:
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    os.write(fd, f"== {stamp} pid {os.getpid()}: {header}\n".encode())
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    yield
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for f in (fd, *saved):
      os.close(f)
