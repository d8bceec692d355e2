"""Shared set-up of the reliability suite: a user's project folder with files nevis did not write, the
checks every hostile case makes, and mounts for a full or read-only file system (root only)."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from nevis import cli

# Files a user keeps in the folder they point nevis at: none may be deleted or changed by a failing run.
FOREIGN = {
    "notes.txt": b"my notes\n",
    "data/raw.bin": bytes(range(256)),
    "scripts/train.py": b"print('hello')\n",
    ".hidden": b"x",
}
LINEAR = ["--import", "tests.nevis.linear_learner"]  # the test learners and the test_colours stream
RUN = [*LINEAR, "run", "--stream", "test_colours", "--learner", "test_linear", "--no-progress", "--no-plot"]


def make_project(root: Path) -> Path:
  root.mkdir(parents=True, exist_ok=True)
  for name, data in FOREIGN.items():
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
  return root


def snapshot(root: Path) -> dict[str, str]:
  """Every file under root -> sha256 of its bytes; every folder -> "folder"."""
  out = {}
  for path in sorted(root.rglob("*")):
    if path.is_file():
      out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    elif path.is_dir():
      out[str(path.relative_to(root))] = "folder"
  return out


def assert_kept(before: dict[str, str], root: Path, nothing_new: bool = False) -> None:
  """Nothing that was there is gone or changed, nothing half-written is left, and (input errors) nothing new."""
  after = snapshot(root)
  lost = {name for name, digest in before.items() if after.get(name) != digest}
  assert not lost, f"lost or changed: {sorted(lost)}"
  assert not half_written(root), half_written(root)
  if nothing_new:
    assert set(after) == set(before), f"written: {sorted(set(after) - set(before))}"


def half_written(root: Path) -> list[str]:
  """Temporary files and folders a writer leaves when it stops in the middle."""
  names = []
  for path in root.rglob("*"):
    name = path.name
    if name.endswith(".tmp") or ".tmp." in name or "orbax-checkpoint-tmp" in name:
      names.append(str(path.relative_to(root)))
  return names


def run_cli(capsys, *args) -> tuple[int, str, str]:
  code = cli.main(list(args))
  out = capsys.readouterr()
  return code, out.out, out.err


def assert_one_line(code: int, err: str, fragments=(), exit_code: int = 2) -> str:
  assert code == exit_code, err
  assert "Traceback" not in err, err
  lines = [line for line in err.splitlines() if line.strip()]
  assert len(lines) == 1, err
  assert lines[0].startswith("nevis: error: "), lines[0]
  for fragment in fragments:
    assert fragment in lines[0], lines[0]
  return lines[0]


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
  """A small tmpfs at `path` (root only); yields False where mounting is not permitted."""
  path.mkdir(parents=True, exist_ok=True)
  if os.geteuid() != 0 or shutil.which("mount") is None:
    yield False
    return
  done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"nevis-test-{uuid.uuid4().hex[:8]}", str(path)],
                        capture_output=True)
  if done.returncode != 0:
    yield False
    return
  try:
    yield True
  finally:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> bool:
  return subprocess.run(["mount", "-o", f"remount,{options}", str(path)], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(path: Path):
  """`path` (a folder, filled already) made read-only: a read-only tmpfs copy as root, else chmod.
  Yields the read-only folder, or None where neither works (a root without mount)."""
  if os.geteuid() == 0:
    staging = path.with_name(path.name + ".src")
    shutil.move(path, staging)
    with tmpfs(path, "64m") as mounted:
      if not mounted:
        shutil.move(staging, path)
        yield None
        return
      shutil.copytree(staging, path, dirs_exist_ok=True)
      shutil.rmtree(staging)
      if not remount(path, "ro"):
        yield None
        return
      yield path
    return
  modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
  for p in modes:
    p.chmod(0o555 if p.is_dir() else 0o444)
  try:
    yield path
  finally:
    for p, mode in modes.items():
      p.chmod(mode)
