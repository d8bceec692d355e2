"""The low-data study of the icl learner (issue 15): runs its cells on mini, then prints the table and draws
the figure (`nevis.shots_plot`).

    python experiments/icl_shots_study.py --root runs/icl_study run CELL...   # run cells (resumes, skips done)
    python experiments/icl_shots_study.py --root runs/icl_study report -o shots.png

A cell is MODE/SHOTS/SELECT/SEED[/MIXER[/STEPS]]: MODE icl_only | ft_only | icl_ft | knn1 (1-nearest neighbour on
16x16 pixels, the bar's peer); SHOTS a number of training examples per class or `all` (dev is capped at the
same number); SELECT dev | prequential (ignored by icl_only and knn1); MIXER softmax (default) | fox | lru,
which starts from the pretraining of that mixer: <root>/../icl_pretrain_glyphs_MIXER unless --pretrained
names it; STEPS the fine-tuning steps per candidate (default: the config's 40). Every cell is an ordinary `nevis run` of experiments/icl_pretrained_mini.yaml (knn1:
experiments/knn_mini.yaml) with --set overrides, in <root>/<cell with / as _>; a finished cell is skipped
and an interrupted one resumed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nevis import config as config_lib
from nevis.config import load_yaml
from nevis.errors import UserError
from nevis.runner import Runner

EXPERIMENTS = Path(__file__).resolve().parent


def overrides(cell: str) -> tuple[Path, list[str]]:
  parts = cell.split("/")
  if len(parts) not in (4, 5, 6):
    raise UserError(f"cell {cell!r} must be MODE/SHOTS/SELECT/SEED[/MIXER[/STEPS]]")
  mode, shots, select, seed = parts[:4]
  mixer = parts[4] if len(parts) >= 5 else "softmax"
  steps = [f"learner_options.num_steps={int(parts[5])}"] if len(parts) == 6 else []
  cap = "null" if shots == "all" else str(int(shots))
  common = [f"seed={int(seed)}", f"max_train_per_class={cap}", f"max_dev_per_class={cap}"]
  if mode == "knn1":
    return EXPERIMENTS / "knn_mini.yaml", common + ["learner_options.k_values=[1]", "learner_options.image_size=16"]
  if mode not in ("icl_only", "ft_only", "icl_ft"):
    raise UserError(f"cell {cell!r}: unknown mode {mode!r}")
  return EXPERIMENTS / "icl_pretrained_mini.yaml", common + steps + [
      f"learner_options.mode={mode}", f"learner_options.select_by={select}", f"learner_options.sequence.mixer={mixer}"]


def run_cell(cell: str, root: Path, pretrained: dict[str, str]) -> Path:
  path, sets = overrides(cell)
  mixer = cell.split("/")[4] if cell.count("/") >= 4 else "softmax"
  if "icl_pretrained" in path.name:
    sets.append(f"learner_options.init_from={pretrained.get(mixer) or root.parent / f'icl_pretrain_glyphs_{mixer}'}")
  workdir = root / cell.replace("/", "_")
  config = config_lib.resolve(load_yaml(path), sets)
  resume = (workdir / "results.sqlite").exists()
  started, cpu = time.perf_counter(), time.process_time()
  Runner(config, workdir, resume=resume, progress=False).run()
  print(f"{cell}: {workdir} ({time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU "
        "in this process)", flush=True)
  return workdir


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--root", required=True, type=Path, help="folder of the cells' workdirs")
  parser.add_argument("--pretrained", action="append", default=[], metavar="MIXER=WORKDIR",
                      help="the pretraining run a mixer's cells start from")
  sub = parser.add_subparsers(dest="command", required=True)
  run = sub.add_parser("run")
  run.add_argument("cells", nargs="+")
  report = sub.add_parser("report")
  report.add_argument("-o", "--output", required=True)
  report.add_argument("--csv")
  args = parser.parse_args(argv)
  pretrained = dict(item.split("=", 1) for item in args.pretrained)
  try:
    if args.command == "run":
      for cell in args.cells:
        run_cell(cell, args.root, pretrained)
    else:
      from nevis import shots_plot

      workdirs = sorted(str(p) for p in args.root.iterdir() if (p / "results.sqlite").exists())
      shots_plot.main([*workdirs, "-o", args.output, *(["--csv", args.csv] if args.csv else [])])
  except UserError as error:
    print(f"icl_shots_study: error: {error}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
