"""Typed configs: parsing, one-line errors naming key, rule and value, and the documentation rows."""
from __future__ import annotations

import dataclasses

import pytest

from nevis.errors import ConfigError
from nevis.options import Options, option


@dataclasses.dataclass(frozen=True)
class Layer:  # a plain dataclass, as layers declare theirs (no harness import)
  width: int = dataclasses.field(default=8, metadata={"doc": "channels"})

  def __post_init__(self):
    if self.width % 2:
      raise ValueError(f"width must be even, got {self.width}")


@dataclasses.dataclass(frozen=True)
class Example(Options):
  steps: int = option(10, "optimiser steps per task", minimum=1)
  rates: tuple[float, ...] = option((0.1,), "learning rates, one trial each", minimum=0)
  smoothing: float = option(0.0, "label smoothing", minimum=0, below=1)
  mode: str = option("dev", "how trials are chosen", choices=("dev", "prequential"))
  cap: int | None = option(None, "examples per class; null keeps all", minimum=1)
  flag: bool = option(False, "a switch")
  layer: Layer = option(Layer(), "a nested layer config")
  extra: dict = dataclasses.field(default_factory=dict, metadata={"doc": "free-form options"})

  def check(self):
    if self.steps < len(self.rates):
      self.fail("steps", f"must be >= the number of rates ({len(self.rates)})")


def test_defaults_and_values_parse_to_the_declared_types():
  config = Example.parse({"steps": 20, "rates": [1, 0.5], "cap": 3, "layer": {"width": 4}}, owner="example")
  assert config.steps == 20 and config.rates == (1.0, 0.5) and isinstance(config.rates[0], float)
  assert config.cap == 3 and config.layer == Layer(4) and config.mode == "dev" and config.extra == {}
  assert config.as_dict() == {"steps": 20, "rates": [1.0, 0.5], "smoothing": 0.0, "mode": "dev", "cap": 3,
                              "flag": False, "layer": {"width": 4}, "extra": {}}
  assert Example.parse(config.as_dict()) == config  # a stored config reads back equal


@pytest.mark.parametrize("mapping, message", [
    ({"stepz": 3}, "unknown key 'stepz' for example (did you mean 'steps'?)"),
    ({"steps": "ten"}, "example.steps must be an integer, got 'ten'"),
    ({"steps": True}, "example.steps must be an integer, got True"),
    ({"steps": 0}, "example.steps must be >= 1, got 0"),
    ({"rates": 0.1}, "example.rates must be a list of float, got 0.1"),
    ({"rates": [0.1, -1]}, "example.rates must be >= 0, got (0.1, -1.0)"),
    ({"smoothing": 1}, "example.smoothing must be < 1, got 1"),
    ({"mode": "test"}, "example.mode must be one of dev, prequential, got 'test'"),
    ({"cap": 0}, "example.cap must be >= 1, got 0"),
    ({"cap": "all"}, "example.cap must be int or null, got 'all'"),
    ({"flag": "yes"}, "example.flag must be true or false, got 'yes'"),
    ({"layer": {"width": 3}}, "example.layer: width must be even, got 3"),
    ({"layer": {"depth": 3}}, "unknown key 'depth' for example.layer"),
    ({"extra": [1]}, "example.extra must be a mapping, got [1]"),
    ({"steps": 1, "rates": [0.1, 0.2]}, "example.steps must be >= the number of rates (2); got 1"),
])
def test_bad_values_are_one_line_errors_naming_key_rule_and_value(mapping, message):
  with pytest.raises(ConfigError) as error:
    Example.parse(mapping, owner="example")
  assert str(error.value).startswith(message)
  assert "\n" not in str(error.value)


def test_not_a_mapping_is_an_error():
  with pytest.raises(ConfigError, match="example must be a mapping of keys, got list"):
    Example.parse([1], owner="example")


def test_describe_lists_type_default_and_doc_with_limits():
  rows = {row.name: row for row in Example.describe()}
  assert list(rows) == ["steps", "rates", "smoothing", "mode", "cap", "flag", "layer", "extra"]
  assert (rows["steps"].type, rows["steps"].default, rows["steps"].doc) == ("int", 10, "optimiser steps per task (>= 1)")
  assert rows["rates"].type == "list[float]" and rows["rates"].default == [0.1]
  assert rows["mode"].doc == "how trials are chosen (dev | prequential)"
  assert rows["cap"].type == "int | null" and rows["smoothing"].doc == "label smoothing (>= 0, < 1)"
  assert rows["layer"].default == {"width": 8} and rows["extra"].doc == "free-form options"


def test_replace_validates_and_option_defaults_must_be_immutable():
  config = Example.parse({})
  assert config.replace(steps=5).steps == 5
  with pytest.raises(ConfigError, match="must be >= 1"):
    config.replace(steps=0)
  with pytest.raises(TypeError, match="immutable"):
    option([1], "a list default")


def test_a_path_given_for_text_is_its_text(tmp_path):
  @dataclasses.dataclass(frozen=True)
  class Folder(Options):
    folder: str | None = option(None, "a folder")

  assert Folder.parse({"folder": tmp_path}).folder == str(tmp_path)


def test_an_exponent_that_yaml_1_1_reads_as_text_is_a_number_where_a_number_is_expected():
  import yaml

  @dataclasses.dataclass(frozen=True)
  class Rates(Options):
    learning_rate: float = option(0.1, "peak learning rate", minimum=0)
    learning_rates: tuple[float, ...] = option((0.1,), "one trial each")
    name: str = option("x", "a label")

  given = yaml.safe_load("learning_rate: 1e-3\nlearning_rates: [1e-2, 3E-4]\nname: 1e5\n")
  assert given["learning_rate"] == "1e-3"  # what PyYAML hands over
  parsed = Rates.parse(given, owner="rates")
  assert parsed.learning_rate == 0.001 and parsed.learning_rates == (0.01, 0.0003)
  assert parsed.name == "1e5"  # text where text is expected stays text
  with pytest.raises(ConfigError, match="rates.learning_rate must be a number, got 'fast'"):
    Rates.parse({"learning_rate": "fast"}, owner="rates")
