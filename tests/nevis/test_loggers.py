"""Loggers: TensorBoard event files read back value by value; a W&B run written offline; one-line errors."""
import glob
import struct
from collections import defaultdict

import pytest

import nevis
from nevis.loggers import Logger
from nevis.registry import register_logger

from .reporting_learner import STEPS, made_up_loss
from .test_cli import assert_one_line_error

RUN = ["--import", "tests.nevis.reporting_learner", "run", "--stream", "test_colours", "--learner", "test_reporting",
       "--set", "learner_options.num_steps=3", "--no-plot", "--no-progress", "--workdir", "w"]


def read_scalars(folder) -> dict[str, list[tuple[int, float]]]:
  """tag -> [(step, value)] from every TensorBoard event file in `folder`, in file order (TFRecord framing:
  length, its CRC, the Event protobuf, its CRC)."""
  event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
  scalars = defaultdict(list)
  for path in sorted(glob.glob(f"{folder}/events.out.tfevents.*")):
    data, i = open(path, "rb").read(), 0
    while i < len(data):
      (length,) = struct.unpack("<Q", data[i:i + 8])
      event = event_pb2.Event.FromString(data[i + 12:i + 12 + length])
      i += 12 + length + 4
      for value in event.summary.value:
        if value.HasField("simple_value"):
          scalars[value.tag].append((event.step, value.simple_value))
  return scalars


def assert_same_points(got, expected):
  assert [step for step, _ in got] == [step for step, _ in expected]
  assert [value for _, value in got] == pytest.approx([value for _, value in expected], rel=1e-6)  # float32


def expected_losses(positions) -> list[tuple[int, float]]:
  step, out = 0, []
  for position in positions:
    for trial in (1, 2):
      for s in range(1, STEPS + 1):
        step += 1
        out.append((step, made_up_loss(position, trial, s)))
  return out


def test_tensorboard_holds_each_tasks_numbers_and_the_learners_loss(run_cli, tmp_path):
  pytest.importorskip("tensorboardX")
  code, _, err = run_cli(*RUN, "--set", "loggers=[tensorboard]", "--set", "prequential=blockwise")
  assert code == 0, err
  scalars = read_scalars(tmp_path / "w" / "tensorboard")
  tasks = nevis.load_results(tmp_path / "w").tasks
  for key in ("error", "log_loss", "train_flops", "cumulative_train_flops", "preq_bits"):
    assert [s for s, _ in scalars[f"task/{key}"]] == [0, 1, 2]
    assert [v for _, v in scalars[f"task/{key}"]] == pytest.approx(list(tasks[key]), rel=1e-6)  # float32 in the file
  assert_same_points(scalars["learner/loss"], expected_losses([0, 1, 2]))
  assert "learner/note" not in scalars  # text goes to the bars, not to the loggers


def test_tensorboard_after_a_failure_and_resume_counts_steps_on(run_cli, tmp_path, monkeypatch):
  pytest.importorskip("tensorboardX")
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_1")
  assert run_cli(*RUN, "--set", "loggers=[tensorboard]")[0] == 2
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")
  code, _, err = run_cli("run", "--resume", "--workdir", "w", "--no-plot", "--no-progress")
  assert code == 0, err
  scalars = read_scalars(tmp_path / "w" / "tensorboard")
  assert len(glob.glob(f"{tmp_path}/w/tensorboard/events.out.tfevents.*")) == 2  # one file per process
  assert [s for s, _ in scalars["task/error"]] == [0, 1, 2]
  # Task 1 reported its trials, then failed; resumed, it reports them again at the same steps.
  losses = scalars["learner/loss"]
  assert len(losses) == 3 * 2 * STEPS + 2 * STEPS
  expected = dict(expected_losses([0, 1, 2]))
  assert_same_points(losses, [(step, expected[step]) for step, _ in losses])
  assert sorted({step for step, _ in losses}) == list(expected)


def test_wandb_runs_offline_and_a_resumed_run_continues_the_same_wandb_run(run_cli, tmp_path, monkeypatch):
  pytest.importorskip("wandb")
  monkeypatch.setenv("WANDB_MODE", "offline")  # never the network (the default is offline too)
  monkeypatch.setenv("WANDB_SILENT", "true")
  monkeypatch.setenv("NEVIS_TEST_FAIL_TASK", "colours_2")
  assert run_cli(*RUN, "--set", "loggers=[wandb]")[0] == 2
  monkeypatch.delenv("NEVIS_TEST_FAIL_TASK")
  code, _, err = run_cli("run", "--resume", "--workdir", "w", "--no-plot", "--no-progress")
  assert code == 0, err
  run_id = (tmp_path / "w" / "wandb" / "nevis-run-id").read_text().strip()
  # Two processes, one W&B run: each process writes its own folder, named by start time and run id (W&B
  # adds "-1" when both start in the same second), holding that one run's log.
  runs = glob.glob(f"{tmp_path}/w/wandb/offline-run-*")
  logs = glob.glob(f"{tmp_path}/w/wandb/offline-run-*/run-*.wandb")
  assert len(runs) == 2 and sorted(logs) == sorted(f"{run}/run-{run_id}.wandb" for run in runs)
  records = b"".join(open(path, "rb").read() for path in logs)
  for key in (b"task/error", b"task/cumulative_train_flops", b"task/position", b"learner/loss", b"learner/step"):
    assert key in records, key


def test_an_unknown_logger_is_one_line_before_anything_runs(run_cli, tmp_path):
  code, _, err = run_cli(*RUN, "--set", "loggers=[tensorbord]")
  assert_one_line_error(code, err, "unknown logger 'tensorbord'", "did you mean 'tensorboard'")
  assert not (tmp_path / "w").exists()


@register_logger("test_needs_a_package")
class NeedsAPackage(Logger):
  requires = ("nevis_no_such_package",)
  install = "nevis[no-such-extra]"


def test_a_logger_whose_package_is_missing_names_the_extra_before_anything_runs(run_cli, tmp_path):
  code, _, err = run_cli(*RUN, "--set", "loggers=[test_needs_a_package]")
  assert_one_line_error(code, err, "logger 'test_needs_a_package' needs nevis_no_such_package",
                        "pip install 'nevis[no-such-extra]'")
  assert not (tmp_path / "w").exists()


@register_logger("test_breaks_at_start")
class BreaksAtStart(Logger):
  def __init__(self, workdir, config, resumed):
    raise OSError("no such server")


LOGGED = []


@register_logger("test_breaks_later")
class BreaksLater(Logger):
  def log(self, axis, step, values):
    LOGGED.append((axis, step))
    if axis == "task":
      raise RuntimeError("disk full")


def test_a_logger_that_fails_is_one_warning_and_the_run_goes_on(run_cli, tmp_path):
  code, _, err = run_cli(*RUN, "--set", "loggers=[test_breaks_at_start, test_breaks_later]")
  assert code == 0, err
  assert err.strip().splitlines() == [
      "nevis: warning: logger BreaksAtStart did not start (OSError: no such server); the run goes on without it",
      "nevis: warning: LoggersObserver stopped (RuntimeError: disk full); the run goes on without it"]
  assert LOGGED[-1] == ("task", 0) and nevis.load_results(tmp_path / "w").meta["status"] == "complete"
