"""nevis.shots_plot: the low-data study's cells, their means over seeds, compute with pretraining, the figure."""
from __future__ import annotations

import numpy as np
import pytest

import nevis
from nevis import shots_plot
from tests.nevis import test_pretraining

_run = test_pretraining.run_on_colours


def test_cells_are_averaged_over_seeds_and_count_pretraining_into_the_total(tmp_path):
  source = _run(tmp_path / "source")
  test_pretraining.SOURCES["test_starts_from"] = (str(tmp_path / "source"),)
  runs = [_run(tmp_path / f"s{seed}", learner="test_starts_from", seed=seed, max_train_per_class=4)
          for seed in (0, 1)]
  runs.append(_run(tmp_path / "all", learner="test_starts_from"))
  rows = shots_plot.cells(runs)
  assert list(rows["shots"]) == [4, 4, "all"]
  # test_colours: 48 training examples of each class; capped, 4 of each.
  assert list(rows["examples_per_class"]) == [4.0, 4.0, 48.0]
  for row, results in zip(rows.itertuples(), runs):
    assert row.error == pytest.approx(results.tasks["error"].mean())
    assert row.pretraining_flops == source.meta["meter"]["flops"]["train"]
    assert row.total_flops == pytest.approx(results.tasks["train_flops"].sum() + row.pretraining_flops)

  table = shots_plot.summary(rows)
  assert list(table["shots"]) == ["4", "all"] and list(table["seeds"]) == [2, 1]
  assert table["error"][0] == pytest.approx(np.mean([r.tasks["error"].mean() for r in runs[:2]]))
  assert table["error_std"][0] == pytest.approx(np.std([r.tasks["error"].mean() for r in runs[:2]], ddof=1))
  text = shots_plot.format_table(table)
  assert "| test_starts_from, 4/class | 4.0 | 2 |" in text and "| test_starts_from, all/class |" in text

  unfinished = nevis.load_results(tmp_path / "all")
  unfinished.meta["status"] = "running"
  assert len(shots_plot.cells([*runs[:2], unfinished])) == 2  # a run still going is no cell yet

  # A cell is named by the options that vary among its learner's runs (seeds and source workdirs never do).
  fewer = _run(tmp_path / "fewer", learner="test_starts_from", learner_options={"num_steps": 5})
  names = list(shots_plot.cells([*runs, fewer])["cell"])
  assert names == ["test_starts_from num_steps=-"] * 3 + ["test_starts_from num_steps=5"]

  figure = shots_plot.plot_shots(runs, tmp_path / "shots.png")
  assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nevis_plot_by_shots_takes_a_folder_of_runs_and_writes_its_values(tmp_path, capsys):
  from nevis.cli import main

  for seed in (0, 1):
    _run(tmp_path / "study" / f"capped_{seed}", seed=seed, max_train_per_class=4)
  _run(tmp_path / "study" / "all")
  assert main(["plot", "--by-shots", str(tmp_path / "study"), "-o", str(tmp_path / "shots"), "--format", "svg",
               "--data", str(tmp_path / "shots.csv")]) == 0
  assert (tmp_path / "shots.svg").read_text().lstrip().startswith("<?xml")
  import pandas as pd

  table = pd.read_csv(tmp_path / "shots.csv")
  assert list(table["shots"].astype(str)) == ["4", "all"] and list(table["seeds"]) == [2, 1]
  assert "data: " in capsys.readouterr().out
