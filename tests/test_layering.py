"""The layering rules of the README's Architecture section, checked on every import in the package.

Every `.py` file under the folders pyproject's `package-dir` maps into the `nevis` namespace is parsed,
named by its module, and each of its imports of nevis (at the top of the file or inside a function) is an
arrow from one module to another. The rules are the README's, word for word.
"""
from __future__ import annotations

import ast
import functools
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the core gives the plug-in layers: the data model and its plumbing, no part of running a learner.
STREAMS_MAY_IMPORT = {"nevis.errors", "nevis.options", "nevis.paths", "nevis.registry", "nevis.stream", "nevis.task"}
LEARNERS_MAY_IMPORT = STREAMS_MAY_IMPORT - {"nevis.paths"} | {"nevis", "nevis.protocol", "nevis.checkpoints"}


@functools.cache
def modules() -> dict[str, Path]:
  """Module name -> file, for every Python file of the package (pyproject's `package-dir` mapping)."""
  package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
  found = {}
  for package, folder in package_dir.items():
    for path in (ROOT / folder).rglob("*.py"):
      parts = path.relative_to(ROOT / folder).with_suffix("").parts
      if parts[-1] == "__init__":
        parts = parts[:-1]
      found[".".join((package, *parts))] = path
  return found


@functools.cache
def arrows() -> set[tuple[str, str]]:
  """(importer, imported) for every import of a nevis module by a nevis module."""
  known = modules()
  out = set()
  for name, path in known.items():
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
      else:
        continue
      for target in targets:
        while target and target not in known:
          target = target.rpartition(".")[0]
        if target and target != name:
          out.add((name, target))
  return out


def layer(module: str) -> str:
  for sub in ("nevis.metrics", "nevis.streams", "nevis.learners.nn", "nevis.learners"):
    if module == sub or module.startswith(sub + "."):
      return sub
  return "core"


def forbidden(importer: str, imported: str) -> str | None:
  """Why the arrow breaks a rule, or None."""
  source, target = layer(importer), layer(imported)
  if source == "nevis.metrics" and target != "nevis.metrics":
    return "metrics imports nothing from the rest of nevis"
  if source == "nevis.streams" and target in ("nevis.learners", "nevis.learners.nn"):
    return "streams know nothing of learners"
  if source == "nevis.streams" and target == "core" and imported not in STREAMS_MAY_IMPORT:
    return f"streams import only {sorted(STREAMS_MAY_IMPORT)} of the core"
  if source == "nevis.learners.nn" and target != "nevis.learners.nn":
    return "the layers in learners/nn import nothing from nevis outside learners/nn"
  if source == "nevis.learners" and target == "core" and imported not in LEARNERS_MAY_IMPORT:
    return f"learners import only {sorted(LEARNERS_MAY_IMPORT)} of the core, never the harness that runs them"
  if source == "core" and target in ("nevis.streams", "nevis.learners", "nevis.learners.nn"):
    return "the core names no built-in stream or learner (they come through entry points)"
  return None


def cycles(edges: set[tuple[str, str]]) -> list[set[str]]:
  """Strongly connected components of more than one module (Tarjan)."""
  graph: dict[str, list[str]] = {}
  for a, b in edges:
    graph.setdefault(a, []).append(b)
  index: dict[str, int] = {}
  low: dict[str, int] = {}
  stack, on_stack, found = [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph.get(v, ()):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = set()
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.add(w)
        if w == v:
          break
      if len(component) > 1:
        found.append(component)

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return found


def test_every_module_is_found_and_imports_are_read():
  names = modules()
  assert {"nevis.runner", "nevis.metrics.flops", "nevis.streams.mini", "nevis.learners.nn.fox"} <= set(names)
  assert ("nevis.runner", "nevis.results") in arrows()
  assert ("nevis.streams.glyphs", "nevis.streams.generated") in arrows()


def test_no_arrow_breaks_a_layering_rule():
  broken = sorted(f"{a} -> {b}: {why}" for a, b in arrows() if (why := forbidden(a, b)))
  assert not broken, "\n".join(broken)


def test_no_import_cycles_between_files():
  found = [sorted(c) for c in cycles(arrows())]
  assert not found, found


def test_the_rules_catch_what_they_forbid():
  assert forbidden("nevis.metrics.flops", "nevis.errors")
  assert forbidden("nevis.streams.mini", "nevis.learners.augment")
  assert forbidden("nevis.streams.mini", "nevis.runner")
  assert forbidden("nevis.learners.nn.peer", "nevis.options")
  assert forbidden("nevis.learners.linear", "nevis.meter")
  assert forbidden("nevis.runner", "nevis.streams.mini")
  assert not forbidden("nevis.learners.linear", "nevis.protocol")
  assert not forbidden("nevis.streams.mini", "nevis.task")
  assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [{"a", "b", "c"}]
