"""The `nevis` command line.

  nevis run [CONFIG.yaml] [--stream S] [--learner L] [--set key=value ...] [--workdir DIR] [--progress MODE]
  nevis run --resume --workdir DIR          (the run's stored config; flags given must agree with it)
  nevis sweep SWEEP.yaml [--workdir DIR] [--executor local|ray] [--workers N] [--address ADDR] [--resume]
  nevis report WORKDIR... [--per-task] [--csv FILE]     (a sweep folder stands for the runs in it)
  nevis plot WORKDIR... -o FILE [--format svg|pdf|png] [--data FILE.csv] [--by-shots]
  nevis learners [NAME] | nevis streams [NAME] [--json]
  nevis data status [STREAM] [--quick] | nevis data prepare TARGET...

Bad input prints one line naming the problem and the fix, and exits with code 2; a run that fails is
recorded as failed in its workdir, which is kept for `--resume`. When the learner's own code raises, the
learner's part of the traceback comes first. SIGINT and SIGTERM stop a run resumably (exit 130 / 143).
Each command's work is in its own module (`nevis.run_command`, `nevis.listings`, `nevis.data_commands`, ...);
this file parses the arguments and calls it.
"""
from __future__ import annotations

import argparse
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
  run.add_argument("--import", dest="run_imports", action="append", default=[], metavar="MODULE",
                   help="as `nevis --import`: a module in the current folder or on PYTHONPATH")
  run.add_argument("--progress", choices=("bar", "plain", "none"),
                   help="progress bars, plain lines (one per task and per trial) or nothing; default: bars on a "
                        "terminal, plain lines otherwise (events.jsonl in the workdir is written either way)")
  run.add_argument("--no-progress", dest="progress", action="store_const", const="none", help="as --progress none")
  run.add_argument("--no-plot", action="store_true", help="skip the plot at the end")

  sweep = sub.add_parser("sweep", help="run every (configuration, seed) of a sweep file, in parallel")
  sweep.add_argument("sweep_file", help="YAML with base:, grid:, seeds: and optionally executor:")
  sweep.add_argument("--workdir", help="the sweep folder (default: a new folder under ./runs)")
  sweep.add_argument("--resume", action="store_true", help="continue the sweep in --workdir")
  sweep.add_argument("--executor", choices=("local", "ray"))
  sweep.add_argument("--workers", type=int, help="runs at once (default: one per GPU, else per CPU core)")
  sweep.add_argument("--address", help="ray: the cluster to join (default: start a local Ray)")
  sweep.add_argument("--cpus-per-run", type=float, help="ray: CPUs each run reserves (default 1)")
  sweep.add_argument("--gpus-per-run", type=float, help="GPUs each run reserves; a fraction shares one (default 0)")
  sweep.add_argument("--max-retries", type=int, help="restarts of a run whose worker died (default 3)")

  report = sub.add_parser("report", help="print results of runs; several runs are compared, grouped over seeds")
  report.add_argument("workdirs", nargs="+", help="run workdirs, or sweep folders holding them")
  report.add_argument("--per-task", action="store_true", help="with several runs: the tasks side by side")
  report.add_argument("--csv", help="also write the per-task table of all runs to this CSV file")

  plot = sub.add_parser("plot", help="plot error against compute, along the stream, and the error matrix")
  plot.add_argument("workdirs", nargs="+", help="run workdirs, or sweep folders holding them")
  plot.add_argument("-o", "--output", required=True)
  plot.add_argument("--format", choices=("svg", "pdf", "png"), help="the picture's format (default: -o's extension)")
  plot.add_argument("--data", metavar="FILE.csv", help="also write every plotted value to this CSV file")
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
  streams = sub.add_parser("streams", help="list registered streams, or the options and tasks of one")
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
  except BrokenPipeError:  # `nevis learners | head`: the reader has gone; nothing more to say
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
  except KeyboardInterrupt as e:
    workdir = getattr(e, "workdir", None) or "DIR"
    how = "terminated" if isinstance(e, failures.Terminated) else "interrupted"
    command = getattr(e, "resume_command", None) or f"nevis run --resume --workdir {workdir}"
    print(f"nevis: {how}; continue with `{command}`", file=sys.stderr)
    return EXIT_SIGTERM if isinstance(e, failures.Terminated) else EXIT_SIGINT


def _main(argv) -> int:
  args = _parser().parse_args(argv)
  from nevis import registry

  imports = list(args.imports) + list(getattr(args, "run_imports", []) or [])
  if args.command is None:
    args.command = "run"
    for name, default in (("config", None), ("stream", None), ("learner", None), ("overrides", []),
                          ("workdir", None), ("resume", False), ("redo_last_task", False), ("progress", None),
                          ("no_plot", False)):
      setattr(args, name, default)
  if args.command == "run":
    from nevis.run_command import run

    return run(args, imports)
  registry.import_modules(imports)
  if args.command in ("learners", "streams"):
    from nevis import listings

    if args.command == "learners":
      listings.print_learners(args.name)
    else:
      listings.print_streams(args.name, args.json)
    return 0
  if args.command == "report":
    return _report(args)
  if args.command == "sweep":
    return _sweep(args, imports)
  if args.command == "data":
    from nevis import data_commands

    if args.data_command == "status":
      return data_commands.status(args.stream, args.quick)
    return data_commands.prepare(args.targets, args.manual_dir, args.force)
  if args.command == "plot":
    from nevis.plots import plot_command

    print(plot_command(args.workdirs, args.output, fmt=args.format, data=args.data, by_shots=args.by_shots))
    return 0
  raise UserError(f"unknown command {args.command!r}; see `nevis --help`")


def _sweep(args, imports) -> int:
  from nevis import failures
  from nevis.sweep import run_sweep

  flags = {"name": args.executor, "workers": args.workers, "address": args.address,
           "cpus_per_run": args.cpus_per_run, "gpus_per_run": args.gpus_per_run, "max_retries": args.max_retries}
  failures.install_sigterm()
  return run_sweep(args.sweep_file, args.workdir, resume=args.resume,
                   executor={k: v for k, v in flags.items() if v is not None},
                   runs_root=os.environ.get("NEVIS_RUNS_DIR", "runs"), imports=imports)


def _report(args) -> int:
  from nevis.report import report_command

  print(report_command(args.workdirs, per_task=args.per_task, csv=args.csv))
  return 0


if __name__ == "__main__":
  sys.exit(main())
