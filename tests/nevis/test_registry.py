"""Plug-ins from outside nevis (an installed package's entry point, `--import`) and what the registries hold."""
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nevis
from nevis import registry
from nevis.errors import ConfigError
from nevis.options import Options, option

from .subprocess_env import ROOT, subprocess_env

HERE = Path(__file__).parent


def test_an_installed_plugin_registers_through_its_entry_point(tmp_path):
  # What `pip install` leaves in site-packages, laid out by hand: building a wheel here would need
  # the network (build isolation) or the `wheel` package.
  site = tmp_path / "site"
  shutil.copytree(HERE / "plugin_pkg" / "nevis_plugin_example", site / "nevis_plugin_example")
  dist_info = site / "nevis_plugin_example-0.0.1.dist-info"
  dist_info.mkdir()
  (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: nevis-plugin-example\nVersion: 0.0.1\n")
  (dist_info / "entry_points.txt").write_text("[nevis.learners]\nexample = nevis_plugin_example.learner\n")
  env = subprocess_env({"PYTHONPATH": f"{site}:{ROOT}"})
  listed = subprocess.run([sys.executable, "-m", "nevis.cli", "learners"], env=env, capture_output=True, text=True)
  assert listed.returncode == 0, listed.stderr
  assert any(line.startswith("plugin_example ") for line in listed.stdout.splitlines())
  ran = subprocess.run(
      [sys.executable, "-m", "nevis.cli", "--import", "tests.nevis.linear_learner", "run", "--stream", "test_colours",
       "--learner", "plugin_example", "--workdir", str(tmp_path / "w"), "--no-progress", "--no-plot"],
      env=env, capture_output=True, text=True, timeout=300,
  )
  assert ran.returncode == 0, ran.stderr
  results = nevis.load_results(tmp_path / "w")
  assert len(results.tasks) == 3 and (results.tasks["train_flops"] > 0).all()


def test_a_learner_module_loaded_with_import_runs(run_cli, tmp_path):
  code, out, err = run_cli("run", "--stream", "test_colours", "--learner", "test_linear", "--workdir", "w",
                           "--no-progress", "--no-plot")
  assert code == 0, err
  assert nevis.load_results(tmp_path / "w").meta["config"]["learner"] == "test_linear"


@dataclasses.dataclass(frozen=True)
class SizeOptions(Options):
  size: int = option(2, "side of the images", minimum=1)


def test_a_stream_with_typed_options_is_called_with_them_parsed():
  @nevis.register_stream("test_typed_options", options=SizeOptions)
  def build(options: SizeOptions):
    """A stream of no tasks."""
    return nevis.Stream("test_typed_options", ())

  factory = registry.STREAMS.get("test_typed_options")
  assert factory is build and factory.options is SizeOptions and factory.__doc__ == "A stream of no tasks."
  assert factory(size=3).name == "test_typed_options"
  with pytest.raises(ConfigError, match=r"^stream 'test_typed_options': stream_options.size must be >= 1, got 0"):
    factory(size=0)
  with pytest.raises(ConfigError, match="unknown key 'sise' for stream_options \\(did you mean 'size'\\?\\)"):
    factory(sise=3)
