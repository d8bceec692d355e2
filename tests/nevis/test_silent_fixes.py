"""Behaviours that used to be silently wrong, now right: data status verifies checksums and covers mini,
deleted predictions are noticed, plot -o writes the file it names, read-only results open, and the learner's
time and memory are recorded per task (schema v2; v1 files still read and upgrade on resume)."""
from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

import nevis
from nevis import results as results_lib

from .hostile_env import RUN, read_only, run_cli

TWO_TASKS = ["--set", "stream_options.num_tasks=2"]


@pytest.fixture
def here(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  monkeypatch.setenv("NEVIS_DATA_DIR", str(tmp_path / "store"))
  return tmp_path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("finished") / "w"
  assert nevis.cli.main([*RUN, *TWO_TASKS, "--set", "evaluate_past=true", "--workdir", str(workdir)]) == 0
  return workdir


def test_data_status_covers_mini_and_verifies_checksums(here, capsys):
  code, out, _ = run_cli(capsys, "data", "status", "mini")
  assert code == 0 and out.strip().splitlines()[-1] == "6 datasets: 6 missing; checksums verified"
  assert run_cli(capsys, "data", "prepare", "mini")[0] == 0
  code, out, _ = run_cli(capsys, "data", "status", "mini")
  assert out.strip().splitlines()[-1] == "6 datasets: 6 prepared; checksums verified"
  images = next((here / "store").rglob("mini_textures/train_images.npy"))
  data = bytearray(images.read_bytes())
  data[-1] ^= 0xFF  # one flipped bit of pixel data: same size, wrong checksum
  images.write_bytes(bytes(data))
  code, out, _ = run_cli(capsys, "data", "status", "mini")
  assert "mini_textures" in out and out.strip().splitlines()[-1] == "6 datasets: 1 corrupt, 5 prepared; checksums verified"
  code, out, _ = run_cli(capsys, "data", "status", "mini", "--quick")
  assert out.strip().splitlines()[-1] == "6 datasets: 6 prepared; sizes only (--quick)"


def test_deleted_predictions_are_reported_by_report_and_resume(here, capsys, finished):
  shutil.copytree(finished, here / "w")
  victim = sorted((here / "w" / "predictions").glob("*.npz"))[0]
  victim.unlink()
  code, out, _ = run_cli(capsys, "report", "w")
  assert code == 0 and f"missing prediction files: 1 of 3 (e.g. predictions/{victim.name})" in out
  db = here / "w" / "results.sqlite"
  with sqlite3.connect(db) as conn:  # make the run resumable: as if it had stopped before its end
    conn.execute("UPDATE meta SET value='\"failed\"' WHERE key='status'")
  code, out, err = run_cli(capsys, *RUN, *TWO_TASKS, "--set", "evaluate_past=true", "--resume", "--workdir", "w")
  assert code == 0
  assert f"nevis: note: 1 prediction files of finished tasks are missing (e.g. predictions/{victim.name})" in err


@pytest.mark.parametrize("name", ["compare.svg", "compare.pdf", "compare.png"])
def test_plot_writes_the_file_it_names(here, capsys, finished, name):
  code, out, _ = run_cli(capsys, "plot", str(finished), "-o", name)
  assert code == 0 and out.strip() == f"plot: {name}"
  assert (here / name).stat().st_size > 1000 and list(here.iterdir()) == [here / name]


def test_a_finished_run_on_read_only_media_can_be_reported(here, capsys, finished):
  shutil.copytree(finished, here / "w")
  assert sorted(p.name for p in (here / "w").iterdir() if p.name.startswith("results")) == ["results.sqlite"]
  with read_only(here / "w") as folder:
    if folder is None:
      pytest.skip("no way to make a read-only folder here")
    code, out, err = run_cli(capsys, "report", "w", "--csv", "all.csv")
    assert code == 0, err
    assert "colours_1" in out and (here / "all.csv").exists()


def test_the_learners_time_and_memory_are_recorded_per_task(finished):
  results = nevis.load_results(finished)
  t = results.tasks
  assert (t["learner_wall_s"] > 0).all() and (t["learner_cpu_s"] > 0).all()
  assert (t["learner_wall_s"] <= t["wall_time_s"]).all()
  assert (t["peak_host_bytes"] > 50 * 2**20).all()  # a Python process with JAX loaded
  assert t["peak_device_bytes"].isna().all()  # CPU keeps no allocator statistics
  assert results.meta["host_peak_scope"] in ("task", "process")
  assert "learner CPU s" in nevis.report.format_report(results) and "peak RSS MiB" in nevis.report.format_report(results)


def test_results_of_schema_v1_are_read_and_upgraded_on_resume(here, capsys, finished):
  shutil.copytree(finished, here / "w")
  db = here / "w" / "results.sqlite"
  with sqlite3.connect(db) as conn:  # back to v1: the columns v2 added, gone; the run, unfinished
    for name, _ in results_lib._V2_COLUMNS + results_lib._V3_COLUMNS:
      conn.execute(f"ALTER TABLE events DROP COLUMN {name}")
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.execute("UPDATE meta SET value='\"interrupted\"' WHERE key='status'")
    conn.execute("DELETE FROM events WHERE after_position=1")
  old = nevis.load_results(here / "w")
  assert len(old.tasks) == 1 and "learner_wall_s" not in old.tasks
  assert run_cli(capsys, "report", "w")[0] == 0
  code, _, err = run_cli(capsys, *RUN, *TWO_TASKS, "--set", "evaluate_past=true", "--resume", "--workdir", "w")
  assert code == 0, err
  upgraded = nevis.load_results(here / "w")
  assert upgraded.meta["schema_version"] == results_lib.SCHEMA_VERSION == 3
  assert np.isnan(upgraded.tasks["learner_wall_s"][0]) and upgraded.tasks["learner_wall_s"][1] > 0
