"""Run configs: `RunConfig`'s fields, YAML files that extend others with `base:`, and `--set` overrides."""
from __future__ import annotations

import pytest

from nevis import config as config_lib
from nevis.config import RunConfig
from nevis.errors import ConfigError


def write(path, text):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(text)
  return path


def test_every_key_has_a_type_a_default_and_a_doc():
  rows = RunConfig.describe()
  assert [row.name for row in rows] == list(config_lib.KEYS)
  assert all(row.doc and row.type for row in rows)
  docs = {row.name: row for row in rows}
  assert docs["prequential"].doc.endswith("(off | blockwise | online)") and docs["prequential"].default == "off"
  assert docs["seed"].doc.endswith("(>= 0, <= 4294967295)")


def test_defaults_yaml_flags_and_overrides_in_that_order():
  config = config_lib.resolve({"seed": 3, "learner_options": {"a": 1, "b": {"c": 2}}},
                              ["learner_options.b.c=5", "seed=4"], learner="independent", stream=None)
  assert (config.seed, config.learner, config.stream) == (4, "independent", "mini")
  assert config.learner_options == {"a": 1, "b": {"c": 5}}
  assert config.as_dict()["imports"] == [] and RunConfig.parse(config.as_dict()) == config


@pytest.mark.parametrize("source", ["yaml", "set"])
def test_a_bare_off_is_the_word_off(tmp_path, source):
  """YAML 1.1 reads `off` as false; for `prequential` it means "off"."""
  if source == "yaml":
    config = config_lib.resolve(config_lib.load_yaml(write(tmp_path / "c.yaml", "prequential: off\n")))
  else:
    config = config_lib.resolve({}, ["prequential=off"])
  assert config.prequential == "off"


def test_a_bad_set_names_itself():
  with pytest.raises(ConfigError, match=r"^--set seed=-1: config.seed must be >= 0, got -1"):
    config_lib.resolve({}, ["seed=-1"])


def test_base_extends_a_file_mappings_merged_lists_replaced(tmp_path):
  write(tmp_path / "bases" / "common.yaml", "learner: icl\nseed: 1\nimports: [a, b]\n"
                                            "learner_options: {width: 8, sequence: {mixer: fox, mlp: dense}}\n")
  child = write(tmp_path / "child.yaml", "base: bases/common.yaml\nimports: [c]\n"
                                        "learner_options: {sequence: {mixer: softmax}}\n")
  assert config_lib.load_yaml(child) == {
      "learner": "icl", "seed": 1, "imports": ["c"],
      "learner_options": {"width": 8, "sequence": {"mixer": "softmax", "mlp": "dense"}}}


def test_bases_in_a_list_later_ones_win_and_chains_resolve_relative_to_each_file(tmp_path):
  write(tmp_path / "a" / "first.yaml", "base: ../b/root.yaml\nseed: 1\n")
  write(tmp_path / "b" / "root.yaml", "seed: 0\nlearner: knn\nmax_tasks: 2\n")
  write(tmp_path / "second.yaml", "seed: 2\nlearner: linear\n")
  child = write(tmp_path / "child.yaml", "base: [a/first.yaml, second.yaml]\nmax_tasks: 3\n")
  assert config_lib.load_yaml(child) == {"seed": 2, "learner": "linear", "max_tasks": 3}


def test_a_cycle_of_bases_is_one_line(tmp_path):
  write(tmp_path / "a.yaml", "base: b.yaml\n")
  write(tmp_path / "b.yaml", "base: [c.yaml, a.yaml]\n")
  write(tmp_path / "c.yaml", "seed: 1\n")
  with pytest.raises(ConfigError, match=r"extend each other in a cycle \('a.yaml' -> 'b.yaml' -> 'a.yaml'\)") as error:
    config_lib.load_yaml(tmp_path / "a.yaml")
  assert "\n" not in str(error.value)
  write(tmp_path / "self.yaml", "base: self.yaml\n")
  with pytest.raises(ConfigError, match="cycle"):
    config_lib.load_yaml(tmp_path / "self.yaml")


@pytest.mark.parametrize("text, message", [
    ("base: nowhere.yaml\n", "base: 'nowhere.yaml' of .* does not exist"),
    ("base: 3\n", "must be a file name or a list of them, got 3"),
    ("base: []\n", "must be a file name or a list of them"),
])
def test_bad_bases_are_one_line(tmp_path, text, message):
  with pytest.raises(ConfigError, match=message):
    config_lib.load_yaml(write(tmp_path / "c.yaml", text))


def test_base_is_not_a_run_config_key():
  with pytest.raises(ConfigError, match="unknown config key 'base'"):
    config_lib.resolve({}, ["base=x.yaml"])
