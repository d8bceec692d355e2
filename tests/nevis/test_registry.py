"""Plug-ins from outside nevis (an installed package's entry point, `--import`) and what the registries hold."""
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nevis
from nevis import registry
from nevis.errors import ConfigError, RegistryError
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


# -- imports from the current folder, broken plug-ins, lazy declarations ---------------------------------

# `nevis` as its console script runs it: the current folder is not on sys.path (as it is with `python -m`).
CONSOLE = "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; from nevis.cli import main; sys.exit(main())"


def _nevis(*args, cwd, env=None):
  return subprocess.run([sys.executable, "-c", CONSOLE, *args], cwd=cwd, env=env or subprocess_env(),
                        capture_output=True, text=True, timeout=300)


def test_import_finds_a_module_in_the_current_folder(tmp_path):
  (tmp_path / "my_learners.py").write_text(
      "from tests.nevis.linear_learner import LinearLearner\nimport nevis\n\n"
      "@nevis.register_learner('my_cwd_learner')\nclass Mine(LinearLearner):\n  '''Mine, from ./my_learners.py.'''\n")
  listed = _nevis("--import", "my_learners", "learners", cwd=tmp_path)
  assert listed.returncode == 0, listed.stderr
  assert "my_cwd_learner  Mine, from ./my_learners.py." in listed.stdout
  missing = _nevis("--import", "my_learnerz", "learners", cwd=tmp_path)
  assert missing.returncode == 2
  assert missing.stderr.strip().splitlines() == [
      "nevis: error: cannot import 'my_learnerz': no such module in the current folder or on PYTHONPATH; check the "
      "name (a module, e.g. my_learners for ./my_learners.py)"]


def test_a_module_that_raises_on_import_is_one_line_naming_where(tmp_path):
  (tmp_path / "bad_learners.py").write_text("x = 1\nraise RuntimeError('half-written')\n")
  result = _nevis("--import", "bad_learners", "learners", cwd=tmp_path)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      "nevis: error: cannot import 'bad_learners': it raised RuntimeError: half-written at bad_learners.py:2; "
      "fix the module"]


def _site_with_broken_plugin(tmp_path) -> Path:
  site = tmp_path / "site"
  (site / "nevis_broken_plugin.py").parent.mkdir(parents=True)
  (site / "nevis_broken_plugin.py").write_text("import nevis\n\nraise ZeroDivisionError('division by zero')\n")
  dist_info = site / "nevis_broken_plugin-0.0.1.dist-info"
  dist_info.mkdir()
  (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: nevis-broken-plugin\nVersion: 0.0.1\n")
  (dist_info / "entry_points.txt").write_text("[nevis.learners]\nbroken = nevis_broken_plugin\n")
  return site


def test_a_plugin_that_fails_to_import_is_one_warning_and_matters_only_when_used(tmp_path):
  env = subprocess_env({"PYTHONPATH": f"{_site_with_broken_plugin(tmp_path)}:{ROOT}"})
  warning = ("nevis: warning: plug-in 'nevis_broken_plugin' (entry point nevis.learners:broken) failed to import "
             "(ZeroDivisionError: division by zero at nevis_broken_plugin.py:3); its learners are unavailable: "
             "reinstall or uninstall the package that provides it")
  listed = _nevis("learners", cwd=tmp_path, env=env)
  assert listed.returncode == 0 and listed.stderr.strip().splitlines() == [warning]
  assert "previous" in listed.stdout
  streams = _nevis("streams", cwd=tmp_path, env=env)  # another group: not even a warning
  assert streams.returncode == 0 and streams.stderr == ""
  used = _nevis("run", "--learner", "brokn", "--workdir", "w", cwd=tmp_path, env=env)
  assert used.returncode == 2
  lines = used.stderr.strip().splitlines()
  assert lines[0] == warning and len(lines) == 2
  assert lines[1].startswith("nevis: error: unknown learner 'brokn'") and "failed to import" in lines[1]
  assert not (tmp_path / "w").exists()


def test_listing_learners_streams_and_reports_imports_no_jax(run_cli, tmp_path):
  assert run_cli("run", "--stream", "test_colours", "--learner", "test_linear", "--workdir", "w", "--no-progress",
                 "--no-plot")[0] == 0
  code = ("import sys; from nevis.cli import main; main(sys.argv[1:]); "
          "print('JAX' if 'jax' in sys.modules else 'no JAX', file=sys.stderr)")
  for command in (["learners"], ["streams"], ["streams", "mini"], ["report", "w"], ["data", "status", "--quick"]):
    result = subprocess.run([sys.executable, "-c", code, *command], cwd=tmp_path, env=subprocess_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.stderr.strip().endswith("no JAX"), (command, result.stderr)


def test_declared_learners_are_listed_with_their_docstrings_before_and_after_import():
  names = registry.LEARNERS.names()
  declared = {n: registry.LEARNERS._declared[n] for n in names if n in registry.LEARNERS._declared}
  before = {n: registry.LEARNERS.summary(n) for n in declared}
  after = {n: registry.LEARNERS.get(n).__doc__.strip().splitlines()[0] for n in declared}
  assert before == after and all(before.values())


def test_a_declaration_must_name_what_its_module_registers():
  reg = registry.Registry("learner")
  reg._entry_points_loaded = True
  reg.declare("test_absent", "tests.nevis.linear_learner:NoSuchLearner")
  with pytest.raises(RegistryError, match="declared as tests.nevis.linear_learner:NoSuchLearner, but importing "
                                          "'tests.nevis.linear_learner' did not register it"):
    reg.get("test_absent")
  reg.declare("x", "tests.nevis.no_such_module:X")
  with pytest.raises(RegistryError, match="learner 'x': 'tests.nevis.no_such_module' failed to import"):
    reg.get("x")
  with pytest.raises(RegistryError, match="is declared twice"):
    reg.declare("x", "elsewhere:X")
