"""The package layout: every folder of the one `nevis` namespace is installed."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"nevis": "nevis", "learners": "nevis.learners", "streams": "nevis.streams", "metrics": "nevis.metrics"}


def test_every_package_folder_is_listed_in_pyproject():
  config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
  listed = set(config["packages"])
  found = set()
  for folder, package in FOLDERS.items():
    assert config["package-dir"][package] == folder
    for init in (ROOT / folder).rglob("__init__.py"):
      rel = init.parent.relative_to(ROOT / folder)
      found.add(".".join([package, *rel.parts]))
  assert found == listed


def test_builtins_register_through_entry_points_only():
  """The core never names a plug-in: built-ins come in through the same entry points as anyone's."""
  config = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
  assert config["nevis.learners"] == {"builtin": "nevis.learners.builtin"}
  assert config["nevis.streams"] == {"builtin": "nevis.streams.builtin"}
  import re

  plugin_import = re.compile(r"^\s*(from|import)\s+nevis\.(learners|streams)\b", re.M)
  for path in (ROOT / "nevis").glob("*.py"):
    assert not plugin_import.search(path.read_text()), f"{path.name} imports a plug-in package by name"
