"""Reliability suite, part 1: bad input on the command line, in configs, workdirs, outputs and data paths.

Every case runs in a user's project folder holding files nevis did not write, and asserts: exit code 2,
exactly one stderr line `nevis: error: ...` naming the problem, no traceback, every foreign file intact,
nothing half-written and — since these are input errors, found before anything runs — nothing written.
"""
from __future__ import annotations

import pytest

from .hostile_env import LINEAR, RUN, assert_kept, assert_one_line, read_only, run_cli, snapshot


def write(name: str, data: bytes | str):
  def setup(project):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
  return setup


S = ["--set"]
CASES = [
    # -- names -----------------------------------------------------------------------------------------
    ("unknown stream", [*LINEAR, "run", "--stream", "test_colour", "--learner", "test_linear"],
     ["unknown stream 'test_colour'", "did you mean 'test_colours'"], None),
    ("unknown learner in the project folder",
     [*LINEAR, "run", "--stream", "test_colours", "--learner", "prevous", "--workdir", "."],
     ["unknown learner 'prevous'", "did you mean 'previous'"], None),
    ("unknown learner, new workdir", RUN + ["--learner", "test_linaer", "--workdir", "w"], ["unknown learner"], None),
    ("missing import", ["--import", "no_such_module_xyz", "run"], ["cannot import 'no_such_module_xyz'"], None),
    ("missing import in run", RUN + ["--import", "nope_nope"], ["cannot import 'nope_nope'"], None),
    ("unknown command", ["frobnicate"], ["invalid choice"], None),
    ("unknown flag", RUN + ["--frobnicate"], ["unrecognized arguments: --frobnicate"], None),
    ("streams of an unknown stream", ["streams", "nope"], ["unknown stream 'nope'"], None),
    ("data status of an unknown stream", ["data", "status", "nope"], ["neither a stream nor a dataset"], None),
    ("data prepare of an unknown target", ["data", "prepare", "nope"], ["neither a stream nor a dataset"], None),
    # -- config keys and values ------------------------------------------------------------------------
    ("unknown config key", RUN + S + ["sed=1"], ["unknown config key 'sed'", "did you mean 'seed'"], None),
    ("seed not an integer", RUN + S + ["seed=one"], ["seed must be an integer"], None),
    ("negative seed", RUN + S + ["seed=-1"], ["seed must be >= 0, got -1"], None),
    ("seed over 32 bits", RUN + S + ["seed=99999999999"], ["seed must be <= 4294967295"], None),
    ("evaluate_past not a boolean", RUN + S + ["evaluate_past=maybe"], ["evaluate_past must be true or false"], None),
    ("evaluate_on unknown", RUN + S + ["evaluate_on=train"], ["evaluate_on must be one of dev_test, test"], None),
    ("prequential unknown", RUN + S + ["prequential=sometimes"], ["prequential must be one of"], None),
    ("eval_batch_size zero", RUN + S + ["eval_batch_size=0"], ["eval_batch_size must be >= 1, got 0"], None),
    ("eval_batch_size negative", RUN + S + ["eval_batch_size=-1"], ["eval_batch_size must be >= 1, got -1"], None),
    ("eval_batch_size fractional", RUN + S + ["eval_batch_size=1.5"], ["eval_batch_size must be an integer"], None),
    ("prequential_first_chunk zero", RUN + S + ["prequential_first_chunk=0"],
     ["prequential_first_chunk must be >= 1"], None),
    ("checkpoint_every_steps negative", RUN + S + ["checkpoint_every_steps=-5"],
     ["checkpoint_every_steps must be >= 0"], None),
    ("max_tasks zero", RUN + S + ["max_tasks=0"], ["max_tasks must be >= 1"], None),
    ("max_train_per_class negative", RUN + S + ["max_train_per_class=-3"], ["max_train_per_class must be"], None),
    ("learner option unknown", RUN + S + ["learner_options.num_step=3"], ["unknown key 'num_step'"], None),
    ("learner option of the wrong type", RUN + S + ["learner_options.num_steps=many"], ["num_steps must be an integer"], None),
    ("stream option unknown", RUN + ["--stream", "synthetic"] + S + ["stream_options.num_task=2"],
     ["unknown key 'num_task' for stream_options"], None),
    ("stream option out of range", RUN + ["--stream", "synthetic"] + S + ["stream_options.num_tasks=-1"],
     ["stream 'synthetic': stream_options.num_tasks must be >= 0, got -1"], None),
    ("stream option unknown to an untyped plug-in", RUN + S + ["stream_options.num_task=2"],
     ["stream 'test_colours' could not be built", "num_task"], None),
    ("stream options not a mapping", RUN + S + ["stream_options=3"], ["stream_options must be a mapping"], None),
    ("learner options with number keys", RUN + S + ["learner_options={1: 2}"],
     ["learner_options must be a mapping with text keys"], None),
    ("imports not a list", RUN + S + ["imports=foo"], ["imports must be a list of str"], None),
    ("--set without a value", RUN + S + ["seed"], ["must look like key=value"], None),
    ("--set into a number", RUN + S + ["seed.x=1"], ["'seed' is not a mapping"], None),
    ("a stream with no tasks", RUN + S + ["stream_options.num_tasks=0"], ["has no tasks"], None),
    ("a stream option its factory rejects", RUN + S + ["stream_options.num_tasks=lots"],
     ["stream 'test_colours' could not be built", "num_tasks"], None),
    ("--resume without --workdir", RUN + ["--resume"], ["--resume needs --workdir"], None),
    ("--redo-last-task without --resume", RUN + ["--redo-last-task", "--workdir", "w"], ["--redo-last-task"], None),
    # -- config files ----------------------------------------------------------------------------------
    ("config file missing", ["run", "missing.yaml"], ["config file 'missing.yaml' does not exist"], None),
    ("config file is a folder", ["run", "scripts"], ["config file 'scripts' is a folder"], None),
    ("malformed YAML", ["run", "bad.yaml"], ["malformed YAML in 'bad.yaml' at line "],
     write("bad.yaml", "stream: test_colours\nlearner: [unclosed\n")),
    ("YAML that is not UTF-8", ["run", "latin1.yaml"], ["is not UTF-8 text", "save it as UTF-8"],
     write("latin1.yaml", "learner: caf\xe9\n".encode("latin-1"))),
    ("YAML that is a list", ["run", "list.yaml"], ["must hold a mapping of keys, not list"], write("list.yaml", "- a\n")),
    ("YAML with an unknown key", ["run", "key.yaml"], ["unknown config key 'learnr'"], write("key.yaml", "learnr: x\n")),
    ("YAML with a bad value", ["run", "value.yaml"], ["eval_batch_size must be >= 1"],
     write("value.yaml", "eval_batch_size: 0\n")),
    # -- workdirs --------------------------------------------------------------------------------------
    ("workdir is a file", RUN + ["--workdir", "notes.txt"], ["--workdir 'notes.txt': it is a file"], None),
    ("workdir inside a file", RUN + ["--workdir", "notes.txt/run"], ["'notes.txt' is a file, not a folder"], None),
    ("--resume of a folder that does not exist", RUN + ["--resume", "--workdir", "nowhere"],
     ["does not exist, so it holds no run to resume"], None),
    ("--resume of a folder without a run", RUN + ["--resume", "--workdir", "."], ["holds no run to resume"], None),
    ("a new run over foreign checkpoints", RUN + ["--workdir", "."], ["holds checkpoints but no nevis run"],
     write("checkpoints/my_model.pt", b"weights")),
    ("a new run over a foreign plot.png", RUN + ["--workdir", "."], ["holds plot.png but no nevis run"],
     write("plot.png", b"my figure")),
    ("a new run over a foreign predictions file", RUN + ["--workdir", "."], ["holds predictions but no nevis run"],
     write("predictions", b"mine")),
    ("a new run over a foreign lock file", RUN + ["--workdir", "."], ["holds lock but no nevis run"],
     write("lock", b"my lock, do not touch")),
    ("runs folder is a file", RUN, ["cannot create a workdir under 'runs'"], write("runs", b"not a folder")),
    # -- outputs ---------------------------------------------------------------------------------------
    ("report of a missing folder", ["report", "nowhere"], ["'nowhere' is not a folder"], None),
    ("report of a file", ["report", "notes.txt"], ["'notes.txt' is not a folder"], None),
    ("report of a folder without results", ["report", "scripts"], ["holds no results"], None),
    ("report of a folder whose results.sqlite is a folder", ["report", "r"], ["holds no results"],
     write("r/results.sqlite/x", b"")),
    ("plot of a folder without results", ["plot", "scripts", "-o", "p.png"], ["holds no results"], None),
    ("report --csv into a missing folder", ["report", "scripts", "--csv", "out/all.csv"],
     ["the folder 'out' does not exist"], None),
    ("report --csv with an unknown extension", ["report", "scripts", "--csv", "all.xlsx"],
     ["has extension '.xlsx'", "use one of .csv"], None),
    ("report --csv onto a folder", ["report", "scripts", "--csv", "data"], ["'data' is a folder"], None),
    ("report --csv inside a file", ["report", "scripts", "--csv", "notes.txt/all.csv"], ["'notes.txt' is a file"], None),
    ("plot -o into a missing folder", ["plot", "scripts", "-o", "figs/p.png"], ["the folder 'figs' does not exist"],
     None),
    ("plot -o with an unknown extension", ["plot", "scripts", "-o", "p.xyz"], ["has extension '.xyz'", ".png"], None),
    ("plot -o without an extension", ["plot", "scripts", "-o", "plotdir"], ["has no extension", ".png"], None),
    ("plot -o onto a folder", ["plot", "scripts", "-o", "data"], ["'data' is a folder"], None),
]


@pytest.mark.parametrize("name, argv, fragments, setup", CASES, ids=[c[0] for c in CASES])
def test_bad_input(project, capsys, name, argv, fragments, setup):
  if setup is not None:
    setup(project)
  before = snapshot(project)
  code, _, err = run_cli(capsys, *argv)
  assert_one_line(code, err, fragments)
  assert_kept(before, project, nothing_new=True)


# Read-only folders and data stores that are files need more set-up than a line.


@pytest.mark.parametrize("argv, fragments", [
    (["report", "scripts", "--csv", "ro/all.csv"], ["cannot write there"]),
    (["plot", "scripts", "-o", "ro/p.png"], ["cannot write there"]),
    (RUN + ["--workdir", "ro"], ["cannot write to workdir 'ro'", "choose a writable --workdir"]),
], ids=["report --csv into a read-only folder", "plot -o into a read-only folder", "a new run in a read-only folder"])
def test_writing_into_a_read_only_folder(project, capsys, argv, fragments):
  (project / "ro").mkdir()
  (project / "ro" / "keep.txt").write_text("x")
  with read_only(project / "ro") as folder:
    if folder is None:
      pytest.skip("no way to make a read-only folder here")
    before = snapshot(project)
    code, _, err = run_cli(capsys, *argv)
    assert_one_line(code, err, fragments)
    assert_kept(before, project, nothing_new=True)


@pytest.mark.parametrize("argv, where", [
    ([*LINEAR, "run", "--stream", "mini", "--learner", "test_linear", "--workdir", "w"], "file"),
    (["data", "status", "mini"], "file"),
    (["data", "status", "mini"], "inside a file"),
], ids=["run with NEVIS_DATA_DIR a file", "data status with NEVIS_DATA_DIR a file",
        "data status with NEVIS_DATA_DIR inside a file"])
def test_a_data_store_that_is_a_file(project, capsys, monkeypatch, argv, where):
  monkeypatch.setenv("NEVIS_DATA_DIR", str(project / "notes.txt") + ("/store" if where == "inside a file" else ""))
  before = snapshot(project)
  code, _, err = run_cli(capsys, *argv)
  assert_one_line(code, err, ["is not a folder", "point NEVIS_DATA_DIR"])
  assert_kept(before, project, nothing_new=True)


def test_allow_missing_with_no_data_at_all_is_an_error(project, capsys):
  before = snapshot(project)
  code, _, err = run_cli(capsys, *LINEAR, "run", "--stream", "nevis22_tiny", "--learner", "test_linear", "--set", "allow_missing=true", "--workdir", "w")
  assert_one_line(code, err, ["allow_missing is set but none of the", "nevis data prepare nevis22_tiny"])
  assert_kept(before, project, nothing_new=True)


def test_missing_data_without_allow_missing(project, capsys):
  before = snapshot(project)
  code, _, err = run_cli(capsys, *LINEAR, "run", "--stream", "nevis22_tiny", "--learner", "test_linear", "--workdir", "w")
  assert_one_line(code, err, ["needs data that is not prepared", "allow_missing=true"])
  assert_kept(before, project, nothing_new=True)
