"""`nevis sweep SWEEP.yaml`: every (configuration, seed) of a sweep file as an ordinary run, in parallel.

The sweep folder (`--workdir`, default a new folder under ./runs) holds one subfolder per run, named so a
person can read it (`learning_rate=0.1,num_steps=300,seed=2`): each is an ordinary run's workdir, so the
folder can be given to `nevis report` and `nevis plot` like a list of runs. Beside each run folder:
`<name>.yaml`, the run's whole config (`nevis run <name>.yaml --workdir <name> --resume` continues that run
alone), and `<name>.log`, its output. `sweep.json` is the plan: which runs, with which configs.

`--resume` continues an interrupted sweep: runs that are complete are not started again, the others continue
from their own checkpoints. The plan must not have changed (a changed sweep file is refused, naming what
differs). Progress is one line per run started, finished, failed or restarted, then a summary.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import yaml

from nevis import config as config_lib, results as results_lib
from nevis.errors import UserError
from nevis.sweep_executors import ExecutorConfig, Job, default_workers, execute
from nevis.sweep_plan import Sweep, load_sweep
from nevis.sweep_worker import COMPLETE
from nevis.workdir import WorkdirLock, atomic_write_bytes, new_workdir

PLAN_NAME = "sweep.json"


def run_sweep(sweep_file: str, workdir: str | None = None, *, resume: bool = False, executor: dict | None = None,
              runs_root: str | Path = "runs", imports: list[str] = (), out=None) -> int:
  """Runs a sweep; 0 when every run is complete, 1 when some failed. Bad input: a one-line UserError."""
  out = out or _print
  sweep = load_sweep(sweep_file, imports)
  options = ExecutorConfig.parse({**sweep.executor, **(executor or {})}, owner="executor")
  _check_runs_can_start(sweep)
  folder = _open_folder(workdir, resume, runs_root, Path(sweep_file).stem)
  with WorkdirLock(folder):
    _write_plan(folder, sweep, sweep_file, resume)
    finished = [run.name for run in sweep.runs if _complete(folder / run.name)]
    jobs = [Job(run.name, str((folder / run.name).resolve()), _json(run.config.as_dict()),
                str((folder / f"{run.name}.log").resolve())) for run in sweep.runs if run.name not in finished]
    where = f"joining Ray at {options.address}" if options.address else f"{default_workers(options)} workers"
    out(f"sweep: {len(sweep.runs)} runs ({sweep.num_configurations} configurations x {sweep.num_seeds} seeds) "
        f"in {folder}; {len(finished)} complete before, {len(jobs)} to run with the {options.name} executor "
        f"({where})")
    resume_command = f"nevis sweep {sweep_file} --workdir {folder} --resume"
    progress = _Progress(folder, resume_command, out)
    try:
      execute(options, jobs, progress)
    except KeyboardInterrupt as e:
      e.resume_command = resume_command
      raise
    return progress.summary(len(sweep.runs), len(finished))


def _check_runs_can_start(sweep: Sweep) -> None:
  """Each distinct stream and learner is built once here, as `nevis run` does before touching a workdir, so
  a bad option is one line now rather than a failed run per grid point later."""
  from nevis.run_support import build_learner, build_stream

  seen = set()
  for run in sweep.runs:
    c = run.config
    for what, key, build in (("stream", (c.stream, c.stream_options), build_stream),
                             ("learner", (c.learner, c.learner_options), build_learner)):
      key = (what, json.dumps(key, sort_keys=True, default=str), c.imports)
      if key not in seen:
        seen.add(key)
        try:
          build(c)
        except UserError as e:
          raise type(e)(f"sweep run {run.name}: {e}") from None


def _open_folder(workdir: str | None, resume: bool, runs_root: str | Path, label: str) -> Path:
  if workdir is None:
    if resume:
      raise UserError("--resume needs --workdir DIR, the sweep folder to continue")
    return new_workdir(runs_root, f"sweep-{label}")
  folder = Path(workdir)
  if folder.exists() and not folder.is_dir():
    raise UserError(f"--workdir {workdir!r} is a file, not a folder; choose a folder path")
  if resume:
    if not (folder / PLAN_NAME).is_file():
      raise UserError(f"--resume: {workdir!r} holds no sweep ({PLAN_NAME} missing); drop --resume to start one")
    return folder
  if (folder / PLAN_NAME).exists():
    raise UserError(f"{workdir!r} already holds a sweep; add --resume to continue it or pick a new --workdir")
  if folder.exists() and any(folder.iterdir()):
    raise UserError(f"--workdir {workdir!r} holds other files; a sweep starts in a new or empty folder: choose "
                    "another --workdir")
  try:
    folder.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise UserError(f"cannot create --workdir {workdir!r} ({e.strerror}); choose a writable folder") from None
  return folder


def _write_plan(folder: Path, sweep: Sweep, sweep_file: str, resume: bool) -> None:
  runs = [{"name": r.name, "seed": r.seed, "point": r.point, "config": _json(r.config.as_dict())} for r in sweep.runs]
  plan_path = folder / PLAN_NAME
  if resume:
    stored = json.loads(plan_path.read_text())["runs"]
    problem = _plan_change(stored, runs)
    if problem:
      raise UserError(f"--resume with a changed sweep ({problem}); resume with the original sweep file or use a "
                      "new --workdir")
    return
  for run in runs:
    header = (f"# Run {run['name']} of the sweep {sweep_file}; continue it alone with\n"
              f"#   nevis run {run['name']}.yaml --workdir {run['name']} --resume\n")
    atomic_write_bytes(folder / f"{run['name']}.yaml",
                       (header + yaml.safe_dump(run["config"], sort_keys=False)).encode())
  atomic_write_bytes(plan_path, json.dumps({"sweep_file": str(Path(sweep_file).resolve()), "runs": runs},
                                           indent=1).encode())


def _plan_change(stored: list[dict], runs: list[dict]) -> str | None:
  old, new = {r["name"]: r for r in stored}, {r["name"]: r for r in runs}
  if set(old) != set(new):
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    return "; ".join(filter(None, [f"new runs {', '.join(added)}" if added else "",
                                   f"runs gone {', '.join(removed)}" if removed else ""]))
  for name in old:
    diffs = config_lib.differences(old[name]["config"], new[name]["config"])
    if diffs:
      return f"run {name}: {'; '.join(diffs)}"
  return None


def _complete(workdir: Path) -> bool:
  db = workdir / results_lib.DB_NAME
  try:
    return db.is_file() and results_lib.read_meta(db).get("status") == COMPLETE
  except UserError:  # unreadable: the run's own attempt reports it
    return False


def _json(value):
  return json.loads(json.dumps(value, default=str))


def _print(line: str) -> None:
  print(line, flush=True)


class _Progress:
  """One line per event, from any executor thread; counts for the summary."""

  def __init__(self, folder: Path, resume_command: str, out):
    self.folder, self.resume_command, self.out = folder, resume_command, out
    self.lock = threading.Lock()
    self.started_at = time.time()
    self.outcomes: dict[str, dict] = {}
    self.restarts = 0
    self.begun: dict[str, float] = {}

  def started(self, name: str, attempt: int, continuing: bool, at: float | None = None) -> None:
    with self.lock:
      self.begun[name] = at or time.time()
      notes = [f"attempt {attempt}, after its worker died" if attempt > 1 else "",
               "continuing from its checkpoint" if continuing else ""]
      self.restarts += attempt > 1
      note = "; ".join(filter(None, notes))
      self.out(f"started   {name}" + (f" ({note})" if note else ""))

  def died(self, name: str, why: str, again: bool) -> None:
    with self.lock:
      self.out(f"died      {name}: {why}" + ("; starting it again" if again else ""))

  def done(self, name: str, outcome: dict, at: float | None = None) -> None:
    seconds = (at or time.time()) - self.begun.get(name, self.started_at)
    text = ""
    if outcome["status"] == COMPLETE:
      text = _result_text(self.folder / name)
    with self.lock:
      self.outcomes[name] = outcome
      word = "finished" if outcome["status"] == COMPLETE else outcome["status"]
      detail = text if outcome["status"] == COMPLETE else outcome.get("error") or ""
      self.out(f"{word:9s} {name} ({seconds:.1f} s){': ' + detail if detail else ''}")

  def summary(self, total: int, before: int) -> int:
    counts: dict[str, int] = {}
    for outcome in self.outcomes.values():
      counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    complete = before + counts.get(COMPLETE, 0)
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status != COMPLETE)
    self.out(f"summary: {complete} of {total} runs complete ({before} before this call)"
             + (f", {others}" if others else "") + f"; {self.restarts} restarted after a worker died; "
             f"{time.time() - self.started_at:.1f} s; see `nevis report {self.folder}`")
    if complete < total:
      self.out(f"continue with `{self.resume_command}` (complete runs are not run again); a run's output is "
               f"in {self.folder}{os.sep}<run>.log")
    return 0 if complete == total else 1


def _result_text(workdir: Path) -> str:
  try:
    from nevis.report import load_results

    s = load_results(workdir).summary()
    return f"mean error {s['mean_error']:.4f} over {s['num_tasks']} tasks"
  except (UserError, KeyError, ValueError):
    return ""
