"""The `nevis` command line.

  nevis run [CONFIG.yaml] [--stream S] [--learner L] [--set key=value ...] [--workdir DIR] [--resume]
  nevis report WORKDIR... [--csv FILE]
  nevis plot WORKDIR... -o FILE [--by-shots]
  nevis learners [NAME] | nevis streams [NAME] [--json]
  nevis data status [STREAM] [--quick] | nevis data prepare TARGET...

Bad input prints one line naming the problem and the fix, and exits with code 2; a run that fails is
recorded as failed in its workdir, which is kept for `--resume`. When the learner's own code raises, the
learner's part of the traceback comes first. SIGINT and SIGTERM stop a run resumably (exit 130 / 143).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from nevis.errors import UserError

EXIT_USAGE = 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class _Parser(argparse.ArgumentParser):
  def error(self, message):  # one line, exit 2, as for every other bad input
    raise UserError(f"{message}; see `{self.prog} --help`")


def _parser() -> argparse.ArgumentParser:
  p = _Parser(prog="nevis", description="Continual-learning harness for the NEVIS'22 stream.")
  p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                 help="import a module that registers learners or streams (repeatable)")
  sub = p.add_subparsers(dest="command", parser_class=_Parser)

  run = sub.add_parser("run", help="run a learner over a stream")
  run.add_argument("config", nargs="?", help="YAML config (see experiments/)")
  run.add_argument("--stream")
  run.add_argument("--learner")
  run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set learner_options.num_steps=50 (repeatable)")
  run.add_argument("--workdir", help="where results go (default: a new folder under ./runs)")
  run.add_argument("--resume", action="store_true", help="continue the run in --workdir")
  run.add_argument("--redo-last-task", action="store_true",
                   help="with --resume: train the last finished task again from the state before it")
  run.add_argument("--import", dest="run_imports", action="append", default=[], metavar="MODULE")
  run.add_argument("--no-progress", action="store_true", help="no progress bars")
  run.add_argument("--no-plot", action="store_true", help="skip the plot at the end")

  report = sub.add_parser("report", help="print results of runs")
  report.add_argument("workdirs", nargs="+")
  report.add_argument("--csv", help="also write the per-task table of all runs to this CSV file")

  plot = sub.add_parser("plot", help="plot error against compute and along the stream")
  plot.add_argument("workdirs", nargs="+")
  plot.add_argument("-o", "--output", required=True)
  plot.add_argument("--by-shots", action="store_true",
                    help="error and compute against training examples per class, one line per learner setting")

  data = sub.add_parser("data", help="status and preparation of the data streams read")
  data_sub = data.add_subparsers(dest="data_command", parser_class=_Parser, required=True)
  status = data_sub.add_parser("status", help="one row per dataset: prepared / missing / corrupt")
  status.add_argument("stream", nargs="?", help="a stream (default: every registered stream)")
  status.add_argument("--quick", action="store_true", help="skip the checksums (manifest and file sizes only)")
  prepare = data_sub.add_parser("prepare", help="download, check and store datasets")
  prepare.add_argument("targets", nargs="+", metavar="STREAM|DATASET")
  prepare.add_argument("--manual-dir", help="folder holding files you downloaded by hand")
  prepare.add_argument("--force", action="store_true", help="prepare again even if prepared")

  learners = sub.add_parser("learners", help="list registered learners, or the options of one")
  learners.add_argument("name", nargs="?")
  streams = sub.add_parser("streams", help="list registered streams, or the tasks of one")
  streams.add_argument("name", nargs="?")
  streams.add_argument("--json", action="store_true", help="print the tasks as a JSON list")
  return p


def main(argv: list[str] | None = None) -> int:
  from nevis import failures

  try:
    return _main(argv)
  except UserError as e:
    if isinstance(e, failures.LearnerCrashed):
      learner_part = failures.learner_traceback(e)
      if learner_part:
        print(learner_part, file=sys.stderr)
    print(f"nevis: error: {' '.join(str(e).split())}", file=sys.stderr)
    return EXIT_USAGE
  except KeyboardInterrupt as e:
    workdir = getattr(e, "workdir", None) or "DIR"
    how = "terminated" if isinstance(e, failures.Terminated) else "interrupted"
    print(f"nevis: {how}; continue with `nevis run --resume --workdir {workdir}`", file=sys.stderr)
    return EXIT_SIGTERM if isinstance(e, failures.Terminated) else EXIT_SIGINT


def _main(argv) -> int:
  args = _parser().parse_args(argv)
  from nevis import registry

  imports = list(args.imports) + list(getattr(args, "run_imports", []) or [])
  if args.command is None:
    args.command = "run"
    for name, default in (("config", None), ("stream", None), ("learner", None), ("overrides", []),
                          ("workdir", None), ("resume", False), ("no_progress", False), ("no_plot", False)):
      setattr(args, name, default)
  if args.command == "run":
    return _run(args, imports)
  registry.import_modules(imports)
  if args.command == "learners":
    return _learners(args)
  if args.command == "streams":
    return _streams(args)
  if args.command == "report":
    return _report(args)
  if args.command == "data":
    return _data(args)
  if args.command == "plot":
    from nevis.outputs import checked_output
    from nevis.plots import PLOT_FORMATS, plot_runs
    from nevis.report import load_results

    output = checked_output(args.output, PLOT_FORMATS, "-o")
    runs = [load_results(w) for w in args.workdirs]
    if args.by_shots:
      from nevis.shots_plot import plot_shots
      plot_runs = plot_shots
    print(f"plot: {plot_runs(runs, output)}")
    return 0
  raise UserError(f"unknown command {args.command!r}; see `nevis --help`")


def _run(args, imports) -> int:
  from nevis import config as config_lib, failures
  from nevis.runner import Runner

  file_config = config_lib.load_yaml(args.config) if args.config else {}
  cli_imports = (file_config.get("imports") or []) + imports if imports else None
  config = config_lib.resolve(
      file_config, args.overrides, stream=args.stream, learner=args.learner, imports=cli_imports
  )
  if args.resume and not args.workdir:
    raise UserError("--resume needs --workdir DIR, the run to continue")
  if args.redo_last_task and not args.resume:
    raise UserError("--redo-last-task continues a run: add --resume --workdir DIR")
  failures.install_sigterm()
  runner = Runner(config, args.workdir, resume=args.resume, progress=not args.no_progress,
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


def _learners(args) -> int:
  from nevis import registry

  if not args.name:
    for name, cls in registry.LEARNERS.items():
      print(f"{name:24s} {_first_line(cls.__doc__)}")
    return 0
  cls = registry.LEARNERS.get(args.name)
  print(f"{args.name}: {_first_line(cls.__doc__)}\noptions (learner_options):")
  for row in _option_rows(cls):
    print(f"  {row.name:28s} {row.type:16s} {json.dumps(row.default, default=str):12s} {row.doc}".rstrip())
  return 0


def _option_rows(learner_cls) -> list:
  """Name, type, default and doc of each of a learner's options, from its typed `Config`."""
  return learner_cls.Config.describe()


def _first_line(doc: str | None) -> str:
  lines = (doc or "").strip().splitlines()
  return lines[0] if lines else ""


def _streams(args) -> int:
  from nevis import registry

  if not args.name:
    for name, factory in registry.STREAMS.items():
      print(f"{name:28s} {_first_line(factory.__doc__)}")
    return 0
  stream = registry.STREAMS.get(args.name)()
  from nevis.stream import stream_table

  rows = stream_table(stream)
  if args.json:
    print(json.dumps(rows, indent=1))
    return 0
  for r in rows:
    print(f"{r['position']:4d} {r['year']} {r['name']:32s} {r['display_name'][:32]:32s} {r['classes']:6d} "
          f"{r['kind']:12s} {r['source']:30s} {'held out' if r['held_out'] else ''}")
  return 0


def _datasets(targets: list[str] | None) -> list:
  """Tasks with a data source, one per dataset, for stream names or dataset keys."""
  from nevis import registry
  from nevis.errors import closest

  streams = registry.STREAMS.names()
  chosen, by_dataset = [], {}
  for name in streams:
    for task in registry.STREAMS.get(name)().tasks:
      if task.data is not None:
        by_dataset.setdefault(task.info.dataset, task)
  if not targets:
    return sorted(by_dataset.values(), key=lambda t: t.info.dataset)
  for target in targets:
    if target in streams:
      chosen += [t for t in registry.STREAMS.get(target)().tasks if t.data is not None]
    elif target in by_dataset:
      chosen.append(by_dataset[target])
    else:
      hint = closest(target, streams + list(by_dataset))
      raise UserError(f"{target!r} is neither a stream nor a dataset{hint}; see `nevis streams` and `nevis data status`")
  unique = {}
  for task in chosen:
    unique.setdefault(task.info.dataset, task)
  return list(unique.values())


def _data(args) -> int:
  if args.data_command == "status":
    from nevis.errors import DataError

    tasks = _datasets([args.stream] if args.stream else None)
    counts: dict[str, int] = {}
    for task in tasks:
      status = task.data.status()
      if status == "prepared" and not args.quick:
        try:
          task.data.verify()  # every byte against its checksum: a flipped bit shows as corrupt
        except DataError:
          status = "corrupt"
      counts[status] = counts.get(status, 0) + 1
      size = f"{task.data.size_bytes() / 2**20:9.1f} MiB" if status != "missing" else " " * 13
      how = "" if status == "prepared" else task.data.instructions()
      print(f"{task.info.dataset:32s} {status:9s} {size} {how}")
    checked = "sizes only (--quick)" if args.quick else "checksums verified"
    print(f"{len(tasks)} datasets: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"; {checked}")
    return 0
  failures = []
  tasks = _datasets(args.targets)
  for task in tasks:
    if task.data.status() == "prepared" and not args.force:
      print(f"{task.info.dataset}: already prepared")
      continue
    try:
      task.data.prepare(manual_dir=args.manual_dir, force=args.force)
      print(f"{task.info.dataset}: prepared")
    except Exception as e:  # one dataset failing must not stop the others; each is reported below
      failures.append((task.info.dataset, str(e).splitlines()[0] if str(e) else type(e).__name__))
  print(f"prepared {len(tasks) - len(failures)} of {len(tasks)} datasets")
  for dataset, why in failures:
    print(f"  failed {dataset}: {why}")
  return 1 if failures else 0


def _report(args) -> int:
  import pandas as pd

  from nevis.outputs import CSV_FORMATS, checked_output, write_text
  from nevis.report import format_report, load_results

  csv = checked_output(args.csv, CSV_FORMATS, "--csv") if args.csv else None
  all_results = [load_results(w) for w in args.workdirs]
  for results in all_results:
    print(format_report(results))
  if csv is not None:
    frames = []
    for r in all_results:
      df = r.tasks.copy()
      df.insert(0, "run", str(r.workdir))
      df.insert(1, "learner", r.meta.get("config", {}).get("learner"))
      frames.append(df)
    write_text(csv, pd.concat(frames).to_csv(index=False), "--csv")
    print(f"csv: {csv}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
