"""`nevis run`: the run's config, a Runner, and the report at the end.

The config is the defaults <- a YAML file <- `--stream`/`--learner`/`--import` <- `--set` (`nevis.config`).
With `--resume` it is the config stored in the run: `nevis run --resume --workdir W` alone continues with it,
and every key a flag or a YAML file gives must equal the stored value, or the command stops with one line
naming each difference (stored -> given) before anything runs.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from nevis import config as config_lib, failures, results as results_lib
from nevis.config import RunConfig
from nevis.errors import UserError


def run(args, imports: list[str]) -> int:
  from nevis import distributed
  from nevis.runner import Runner

  process, _ = distributed.initialize()  # a no-op unless a cluster started this process as one of many
  args.workdir = distributed.process_workdir(args.workdir, process)
  if args.resume and not args.workdir:
    raise UserError("--resume needs --workdir DIR, the run to continue")
  if args.redo_last_task and not args.resume:
    raise UserError("--redo-last-task continues a run: add --resume --workdir DIR")
  config = run_config(args, imports)
  failures.install_sigterm()
  runner = Runner(config, args.workdir, resume=args.resume, progress=args.progress or True,
                  runs_root=os.environ.get("NEVIS_RUNS_DIR", "runs"), redo_last_task=args.redo_last_task)
  try:
    runner.run()
  except UserError as e:
    if runner.stopped:
      e.args = (failures.resume_hint(str(e), runner.workdir, runner.stopped),)
    raise
  except KeyboardInterrupt as e:
    e.workdir = runner.workdir
    raise
  for notice in runner.notices:
    print(f"nevis: note: {notice}", file=sys.stderr)
  from nevis.report import format_report, load_results

  workdir = runner.workdir
  results = load_results(workdir)
  print(format_report(results))
  if not args.no_plot:
    from nevis.plots import plot_runs

    try:
      print(f"plot: {plot_runs([results], workdir / 'plot.png')}")
    except UserError as e:  # the results are safe; only the picture is missing
      print(f"nevis: note: no plot: {e}; the results are complete", file=sys.stderr)
  print(f"results: {workdir}")
  return 0


def run_config(args, imports: list[str]) -> RunConfig:
  """The config of `nevis run` from its arguments (see the module docstring)."""
  file_config = config_lib.load_yaml(args.config) if args.config else {}
  given_imports = (file_config.get("imports") or []) + imports if imports else None
  stored = stored_config(Path(args.workdir)) if args.resume else None
  if stored is None:  # a new run (or nothing to resume: the runner says so)
    return config_lib.resolve(file_config, args.overrides, stream=args.stream, learner=args.learner,
                              imports=given_imports)
  file_imports = file_config.get("imports") or []
  if isinstance(file_imports, list) and (file_imports or imports):  # importing a module again is no change
    given_imports = list(stored["imports"]) + [m for m in file_imports + imports if m not in stored["imports"]]
    file_config = {k: v for k, v in file_config.items() if k != "imports"}
  given = config_lib.resolve(file_config, args.overrides, base=stored, stream=args.stream, learner=args.learner,
                             imports=given_imports)
  diffs = config_lib.differences(stored, json.loads(json.dumps(given.as_dict(), default=str)))
  if diffs:
    raise UserError(
        f"--resume with a changed config ({'; '.join(diffs)}; stored -> given): `nevis run --resume --workdir "
        f"{args.workdir}` alone continues with the stored config; drop those flags, or start a new --workdir"
    )
  return given


def stored_config(workdir: Path) -> dict | None:
  """The config a run in `workdir` stored (with keys added since at their defaults), or None without one."""
  db = workdir / results_lib.DB_NAME
  if not db.is_file():
    return None
  stored = results_lib.read_meta(db).get("config")
  return config_lib.complete(stored) if isinstance(stored, dict) else None
