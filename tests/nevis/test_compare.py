"""Comparing runs: grouping over seeds, labels, intervals over seeds and budget curves, with golden values."""
from __future__ import annotations

import math

import pytest

from nevis import compare

from .fake_results import fake_run

T_975_2 = 4.302652729749462  # Student-t quantile 0.975 with 2 degrees of freedom (tables: 4.303)
T_975_1 = 12.706204736174694  # with 1 degree of freedom (tables: 12.71)


def previous(seed, errors, status="complete"):
  return fake_run({"learner": "previous", "seed": seed, "learner_options": {"num_epochs": 1}}, errors,
                  name=f"previous_{seed}", status=status)


def test_runs_that_differ_only_in_seed_are_one_configuration_with_a_t_interval():
  runs = [previous(0, [0.1, 0.3]), previous(1, [0.2, 0.4]), previous(2, [0.3, 0.5]),
          fake_run({"learner": "independent", "seed": 0}, [0.2, 0.2], flops_per_task=2e9),
          fake_run({"learner": "independent", "seed": 1}, [0.4, 0.4], flops_per_task=2e9)]
  configurations = compare.group(runs)
  assert [c.label for c in configurations] == ["previous", "independent"]
  assert [len(c.runs) for c in configurations] == [3, 2]
  frame = compare.summary_frame(configurations)
  # previous: per-seed mean errors 0.2, 0.3, 0.4 -> mean 0.3, standard deviation 0.1.
  assert frame["mean_error"][0] == pytest.approx(0.3)
  assert frame["error_ci95"][0] == pytest.approx(T_975_2 * 0.1 / math.sqrt(3))  # 0.24841
  # independent: 0.2 and 0.4 -> mean 0.3, standard deviation 0.1414, interval 12.71 * 0.1414 / sqrt(2) = 1.2706.
  assert frame["error_ci95"][1] == pytest.approx(T_975_1 * math.sqrt(0.02) / math.sqrt(2))
  assert list(frame["train_flops"]) == [2e9, 4e9] and list(frame["seeds"]) == [3, 2]
  assert list(frame["seed_values"]) == ["0,1,2", "0,1"] and list(frame["wall_s"]) == [4.0, 4.0]
  assert list(frame["status"]) == ["3 complete", "2 complete"]


def test_one_seed_has_no_interval_and_incomplete_runs_are_left_out():
  runs = [previous(0, [0.1, 0.3]), previous(1, [0.9], status="failed")]
  (c,) = compare.group(runs)
  assert [r.meta["status"] for r in c.used] == ["complete"] and len(c.left_out) == 1
  error = c.error()
  assert error.mean == pytest.approx(0.2) and math.isnan(error.half_width) and error.count == 1
  assert compare.summary_frame([c])["status"][0] == "1 complete, 1 failed"


@pytest.mark.parametrize("configs, labels", [
    # learner_options compared only between configurations of the same learner
    ([{"learner": "previous", "learner_options": {"num_epochs": 1}},
      {"learner": "previous", "learner_options": {"num_epochs": 2}},
      {"learner": "linear", "learner_options": {"l2": 0.1}}],
     ["previous num_epochs=1", "previous num_epochs=2", "linear"]),
    # top-level keys between all; floats in three digits, lists joined, budgets short
    ([{"learner": "previous", "evaluate_on": "test", "max_tasks": 3},
      {"learner": "previous", "evaluate_on": "dev_test", "max_tasks": None}],
     ["previous evaluate_on=test max_tasks=3", "previous evaluate_on=dev_test max_tasks=null"]),
    ([{"learner": "previous", "compute_budget": {"flops": 1e10, "per": "task"}},
      {"learner": "previous", "compute_budget": {"flops": 2.5e11, "per": "stream"}},
      {"learner": "previous"}, {"learner": "linear"}],
     ["previous budget=1e10/task", "previous budget=2.5e11/stream", "previous budget=none", "linear"]),
    ([{"learner": "previous", "learner_options": {"learning_rates": [0.1, 0.01]}},
      {"learner": "previous", "learner_options": {"learning_rates": [0.1]}}],
     ["previous learning_rates=0.1,0.01", "previous learning_rates=0.1"]),
    # a stream option and a learner option of the same name keep their full keys
    ([{"learner": "x", "stream_options": {"size": 1}, "learner_options": {"size": 1}},
      {"learner": "x", "stream_options": {"size": 2}, "learner_options": {"size": 3}}],
     ["x learner_options.size=1 stream_options.size=1", "x learner_options.size=3 stream_options.size=2"]),
    # names win; a name shared by different configurations gets the automatic label
    ([{"learner": "previous", "name": "mine"}, {"learner": "linear"}], ["mine", "linear"]),
    ([{"learner": "previous", "name": "same"}, {"learner": "linear", "name": "same"}],
     ["same [previous]", "same [linear]"]),
])
def test_labels(configs, labels):
  full = [{**compare.RunConfig().as_dict(), **c} for c in configs]
  for c in full:
    c.pop("seed")
  assert compare.configuration_labels(full) == labels


def test_a_sweep_folder_stands_for_its_runs(tmp_path):
  sweep = tmp_path / "sweep"
  for name in ("b", "a", "not_a_run"):
    (sweep / name).mkdir(parents=True)
  for name in ("a", "b"):
    (sweep / name / "results.sqlite").write_bytes(b"")
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "results.sqlite").write_bytes(b"")
  assert compare.run_workdirs([sweep, tmp_path / "run", sweep / "a"]) == [sweep / "a", sweep / "b", tmp_path / "run"]
  assert compare.run_workdirs([tmp_path / "empty"]) == [tmp_path / "empty"]  # load_results names the problem


def test_budget_curves_area_and_error_at_budgets():
  def budgeted(seed, errors, flops, budget=None):
    return fake_run({"learner": "previous", "seed": seed, "compute_budget": budget}, errors, flops_per_task=flops)

  runs = [budgeted(0, [0.5, 0.5], 1e9, {"flops": 1e9, "per": "task"}),
          budgeted(0, [0.3, 0.3], 1e10, {"flops": 1e10, "per": "task"}),
          budgeted(0, [0.2, 0.2], 5e10),
          fake_run({"learner": "linear"}, [0.6, 0.6], flops_per_task=1e8)]  # one compute level: no curve
  curves, budgets = compare.budget_curves(compare.group(runs))
  assert budgets == [2e9, 2e10]  # per-task budgets over the two tasks of each run
  assert list(curves["configuration"]) == ["previous"] and curves["points"][0] == 3
  # Trapezoids over log10 FLOPs 9.301, 10.301, 11 with errors 0.5, 0.3, 0.2, divided by the range 1.699.
  x = [math.log10(2e9), math.log10(2e10), 11.0]
  area = ((x[1] - x[0]) * 0.8 / 2 + (x[2] - x[1]) * 0.5 / 2) / (x[2] - x[0])
  assert curves["area"][0] == pytest.approx(area) == pytest.approx(0.338289, abs=1e-6)
  assert curves["error_at_2e9"][0] == pytest.approx(0.5) and curves["error_at_2e10"][0] == pytest.approx(0.3)
  assert (curves["min_flops"][0], curves["max_flops"][0]) == (2e9, 1e11)


def test_per_task_frame_and_runs_frame():
  runs = [previous(0, [0.1, 0.3]), previous(1, [0.2, 0.4])]
  configurations = compare.group(runs)
  tasks = compare.per_task_frame(configurations)
  assert list(tasks["task"]) == ["textures", "mnist"] and list(tasks["eval_n"]) == [108, 618]
  assert list(tasks["error"]) == pytest.approx([0.15, 0.35])
  assert tasks["error_ci95"][0] == pytest.approx(T_975_1 * math.sqrt(0.005) / math.sqrt(2))
  frame = compare.runs_frame(runs)
  assert list(frame.columns[:5]) == ["configuration", "seed", "run", "learner", "status"]
  assert list(frame["seed"]) == [0, 0, 1, 1] and set(frame["configuration"]) == {"previous"}
