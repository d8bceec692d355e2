"""Sweep files: the runs they stand for, their names and configs, and one line for every bad input."""
import textwrap

import pytest

from nevis.errors import ConfigError
from nevis.sweep_plan import load_sweep


def sweep_file(tmp_path, text, name="sweep.yaml"):
  path = tmp_path / name
  path.write_text(textwrap.dedent(text))
  return path


def test_grid_times_seeds_with_readable_names_and_whole_configs(tmp_path):
  (tmp_path / "base.yaml").write_text("stream: mini\nlearner: linear\nlearner_options: {num_steps: 7}\nseed: 5\n")
  sweep = load_sweep(sweep_file(tmp_path, """
      base: base.yaml
      grid:
        learner_options.learning_rate: [0.01, 0.1]
        max_tasks: [1, 2]
      seeds: [0, 3]
  """))
  assert (sweep.num_configurations, sweep.num_seeds, len(sweep.runs)) == (4, 2, 8)
  assert [r.name for r in sweep.runs[:3]] == [
      "learning_rate=0.01,max_tasks=1,seed=0", "learning_rate=0.01,max_tasks=1,seed=3",
      "learning_rate=0.01,max_tasks=2,seed=0"]
  last = sweep.runs[-1]
  assert last.name == "learning_rate=0.1,max_tasks=2,seed=3"
  assert (last.seed, last.point) == (3, {"learner_options.learning_rate": 0.1, "max_tasks": 2})
  # the grid's values join the base's; nothing else changes
  assert last.config.learner_options == {"num_steps": 7, "learning_rate": 0.1}
  assert (last.config.stream, last.config.learner, last.config.max_tasks, last.config.seed) == ("mini", "linear", 2, 3)


def test_seeds_as_a_range_and_default_seed_and_inline_base(tmp_path):
  sweep = load_sweep(sweep_file(tmp_path, "base: {learner: knn}\nseeds: {start: 2, stop: 5}\n"))
  assert [r.name for r in sweep.runs] == ["seed=2", "seed=3", "seed=4"]
  assert {r.config.learner for r in sweep.runs} == {"knn"}
  sweep = load_sweep(sweep_file(tmp_path, "base: {seed: 9}\n"))
  assert [(r.name, r.config.seed) for r in sweep.runs] == [("seed=9", 9)]


def test_clashing_short_names_use_the_whole_key_and_unsafe_characters_go(tmp_path):
  sweep = load_sweep(sweep_file(tmp_path, """
      grid:
        learner_options.num_steps: [1]
        stream_options.num_steps: [2]
        learner_options.l2_values: [[0.1, 1.0]]
        learner_options.note: ["a/b c"]
  """))
  (run,) = sweep.runs
  assert run.name == ("learner_options.num_steps=1,stream_options.num_steps=2,l2_values=0.1-1.0,note=a_b_c,seed=0")
  assert "/" not in run.name


def test_values_that_read_the_same_get_distinct_names(tmp_path):
  sweep = load_sweep(sweep_file(tmp_path, "grid: {learner_options.tag: ['a b', 'a/b']}\n"))
  names = [r.name for r in sweep.runs]
  assert names == ["tag=a_b,seed=0", "tag=a_b+2,seed=0"]


def test_imports_from_the_command_line_join_every_run(tmp_path):
  sweep = load_sweep(sweep_file(tmp_path, "base: {imports: [a]}\nseeds: [0, 1]\n"), imports=["b"])
  assert {r.config.imports for r in sweep.runs} == {("a", "b")}


@pytest.mark.parametrize("text, message", [
    ("grids: {}\n", "unknown key 'grids' in sweep file"),
    ("grid: {learner_option.x: [1]}\n", "grid key 'learner_option.x'"),
    ("grid: {seed: [1, 2]}\n", "seeds are listed under seeds:"),
    ("grid: {max_tasks: 3}\n", "must have a non-empty list of values"),
    ("grid: {max_tasks: []}\n", "must have a non-empty list of values"),
    ("grid: [max_tasks]\n", "grid: in"),
    ("seeds: [1, 1]\n", "lists a seed twice"),
    ("seeds: {start: 3, stop: 1}\n", "seeds: in"),
    ("seeds: [a]\n", "seeds: in"),
    ("base: missing.yaml\n", "does not exist"),
    ("base: {base: other.yaml}\n", "write it in a file"),
    ("base: 3\n", "base: in"),
    ("executor: 3\n", "executor: in"),
    ("grid: {max_tasks: [1, 0]}\n", "run max_tasks=0,seed=0: config.max_tasks must be >= 1"),
    ("base: {learner_options: 3}\ngrid: {learner_options.x: [1]}\n", "'learner_options' is not a mapping"),
])
def test_bad_sweep_files_are_one_line_config_errors(tmp_path, text, message):
  with pytest.raises(ConfigError, match=None) as caught:
    load_sweep(sweep_file(tmp_path, text))
  assert message in str(caught.value)
  assert "\n" not in str(caught.value)

