"""`nevis report` and `nevis plot` over several runs: the comparison table, the figure's three panels, its
data file, and labels that do not collide in the rendered picture."""
from __future__ import annotations

import pandas as pd
import pytest

import nevis
from nevis import compare, plots
from nevis.plot_labels import text_boxes_overlap

from .fake_results import fake_run
from .hostile_env import LINEAR, assert_one_line, run_cli
from .test_budget import step_flops

BUDGET = ["--import", "tests.nevis.budget_learners"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
  """A sweep folder: test_linear x 2 seeds, test_budgeted at a budget x 2 seeds and without one x 1 seed."""
  root = tmp_path_factory.mktemp("sweep")
  budget = f"compute_budget.flops={10.5 * step_flops()}"
  for name, learner, seed, extra in (("lin_0", "test_linear", 0, []), ("lin_1", "test_linear", 1, []),
                                     ("bud_0", "test_budgeted", 0, [budget]), ("bud_1", "test_budgeted", 1, [budget]),
                                     ("free_0", "test_budgeted", 0, [])):
    args = [*LINEAR, *BUDGET, "run", "--stream", "test_colours", "--learner", learner, "--set", f"seed={seed}",
            "--set", "evaluate_past=true", *[a for e in extra for a in ("--set", e)], "--workdir",
            str(root / "runs" / name), "--no-progress", "--no-plot"]
    assert nevis.cli.main(args) == 0
  return root


def test_report_of_a_sweep_folder_compares_configurations(sweep, capsys, monkeypatch):
  monkeypatch.chdir(sweep)
  code, out, _ = run_cli(capsys, *LINEAR, *BUDGET, "report", "runs", "--per-task", "--csv", "all.csv")
  assert code == 0
  lines = out.splitlines()
  assert lines[0].startswith("== 3 configurations, 5 runs")
  header = lines[1].split()
  assert header[:3] == ["configuration", "seeds", "tasks"] and "budget" in header and "None" not in out
  rows = {line.split("  ")[0].strip(): line for line in lines[2:5]}
  budget = f"{10.5 * step_flops():.3g}".replace("e+0", "e").replace("e+", "e")
  assert set(rows) == {f"test_budgeted budget={budget}/task", "test_budgeted budget=none", "test_linear"}
  assert " ± " in rows["test_linear"] and " ± —" in rows["test_budgeted budget=none"]  # one seed: no interval
  assert "== error against training compute" in out and "== per task" in out and "eval n" in out
  assert out.count("  runs/") == 5  # one line per run
  table = pd.read_csv(sweep / "all.csv")
  assert len(table) == 15 and set(table["seed"]) == {0, 1}
  assert table.groupby("configuration").size().to_dict() == {"test_linear": 6, "test_budgeted budget=none": 3,
                                                              f"test_budgeted budget={budget}/task": 6}


def test_report_of_one_run_has_eval_n_and_dashes_for_missing_values(sweep, capsys):
  code, out, _ = run_cli(capsys, "report", str(sweep / "runs" / "lin_0"))
  header = out.splitlines()[1].split("  ")
  assert code == 0 and "eval n" in [h.strip() for h in header] and "None" not in out and "—" in out
  assert [line.split()[5] for line in out.splitlines()[2:5]] == ["72", "96", "120"]  # dev_test sizes


def test_python_loads_several_runs_into_one_frame(sweep):
  one = nevis.load_results(sweep / "runs" / "lin_0")
  assert isinstance(one, nevis.report.Results)
  frame = nevis.load_results(sweep / "runs")
  assert isinstance(frame, pd.DataFrame) and len(frame) == 15
  assert len(nevis.load_results([sweep / "runs" / "lin_0", sweep / "runs" / "lin_1"])) == 6
  summary = nevis.compare_runs(sweep / "runs")
  assert list(summary["seeds"]) == [2, 1, 2]  # bud_*, free_0, lin_*: in the order of the folder names


def test_plot_writes_each_format_and_the_data_it_draws(sweep, capsys, monkeypatch):
  monkeypatch.chdir(sweep)
  for args, name, magic in ((["-o", "fig.svg"], "fig.svg", b"<?xml"), (["-o", "fig", "--format", "pdf"], "fig.pdf",
                                                                        b"%PDF"),
                            (["-o", "fig.png", "--format", "png", "--data", "plotted.csv"], "fig.png", b"\x89PNG")):
    code, out, err = run_cli(capsys, *LINEAR, "plot", "runs", *args)
    assert code == 0, err
    assert (sweep / name).read_bytes().startswith(magic)
  data = pd.read_csv(sweep / "plotted.csv")
  configurations = compare.group(compare.load_runs([sweep / "runs"]))
  summary = compare.summary_frame(configurations).set_index("configuration")
  trade = data[(data.panel == "tradeoff") & (data.configuration != "chance")].set_index("configuration")
  assert trade["error"].to_dict() == pytest.approx(summary["mean_error"].to_dict())
  assert trade["train_flops"].to_dict() == pytest.approx(summary["train_flops"].to_dict())
  chance = data[data.configuration == "chance"]["error"].iloc[0]
  assert chance == pytest.approx((2 / 3 + 3 / 4 + 4 / 5) / 3)  # colours tasks of 3, 4 and 5 classes
  per_task = data[data.panel == "per_task"]
  assert len(per_task) == 9 and list(per_task["eval_n"][:3]) == [72, 96, 120]
  assert (data[data.panel == "error_matrix"].groupby("configuration").size() == 6).all()  # lower triangles
  # The budgeted configuration spends less and errs more: the front holds the cheapest and the best.
  assert trade["pareto"].sum() >= 2


def test_plot_format_and_extension_must_agree(sweep, capsys, monkeypatch):
  monkeypatch.chdir(sweep)
  code, _, err = run_cli(capsys, *LINEAR, "plot", "runs", "-o", "fig.png", "--format", "pdf")
  assert_one_line(code, err, ["has extension .png but --format is pdf"])


def _collisions(fig):
  ax_trade, ax_tasks = fig.axes[0], fig.axes[1]
  renderer = fig.canvas.get_renderer()
  inside = ax_trade.get_window_extent(renderer)
  labels = ax_trade.texts
  outside = [t.get_text() for t in labels if not (inside.x0 <= t.get_window_extent(renderer).x0 and
                                                   t.get_window_extent(renderer).x1 <= inside.x1)]
  titles = [ax.title for ax in fig.axes]  # the heatmaps' titles (configuration labels) side by side
  return (text_boxes_overlap(labels, renderer) + text_boxes_overlap(ax_tasks.get_xticklabels(), renderer)
          + text_boxes_overlap(titles, renderer)), outside


def test_labels_of_the_real_runs_do_not_collide(sweep):
  configurations = compare.group(compare.load_runs([sweep / "runs"]))
  fig, _ = plots.draw(configurations)
  overlaps, outside = _collisions(fig)
  assert overlaps == [] and outside == []
  assert len(fig.axes[0].texts) >= 2  # the Pareto front's members are named


def test_labels_do_not_collide_with_many_configurations_and_tasks():
  # Twelve configurations, all on the front and close together; forty tasks along the stream.
  runs = [fake_run({"learner": "previous", "learner_options": {"num_epochs": k}}, [0.5 - 0.02 * k] * 40,
                   flops_per_task=1e9 * 1.25**k, matrix=True, name=f"r{k}") for k in range(12)]
  fig, rows = plots.draw(compare.group(runs))
  overlaps, outside = _collisions(fig)
  assert overlaps == [] and outside == []
  assert sum(r.get("pareto", 0) for r in rows) == 12 and len(fig.axes[0].texts) == 12



def test_the_tradeoff_panel_labels_a_power_of_ten_even_for_one_run(tmp_path, monkeypatch):
  """One run (the default job: 3.45e12 FLOPs): the x-axis must still show a FLOP value to read the point by."""
  from matplotlib.figure import Figure

  figures = []
  original = Figure.savefig
  monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (figures.append(fig), original(fig, *a, **k))[1])
  plots.plot_runs([fake_run({}, [0.02, 0.03, 0.0], flops_per_task=1.15e12)], tmp_path / "one.png")
  lo, hi = figures[0].axes[0].get_xlim()
  assert lo < 3.45e12 < hi and any(lo <= 10.0 ** k <= hi for k in range(30))
