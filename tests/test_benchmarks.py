"""The benchmark scripts run end to end at CPU sizes (their figures are not asserted: timings vary)."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_attention_benchmark_checks_kernels_and_times_methods():
  # The GPU correctness check, with the kernels interpreted: float32 Pallas must match blockwise.
  result = subprocess.run(
      [sys.executable, str(ROOT / "benchmarks" / "attention.py"), "--small", "--lengths", "64", "--heads", "2",
       "--head-dim", "16", "--repeats", "1", "--methods", "dpa", "fox_acp", "--check-in-interpret-mode",
       "--pallas-configs", "32:16:4:2"],
      capture_output=True, text=True, timeout=300, check=True)
  checks = [line for line in result.stdout.splitlines() if line.startswith("check float32")]
  assert len(checks) == 2
  for line in checks:
    differences = [float(x) for x in re.findall(r"\d\.\de[-+]\d\d", line)]
    assert len(differences) == 4 and max(differences) < 1e-5, line
  timed = [line.split()[:3] for line in result.stdout.splitlines() if re.match(r"(dpa|fox_acp)\s+64\s", line)]
  assert timed == [["dpa", "64", "fwd"], ["dpa", "64", "fwd+bwd"], ["fox_acp", "64", "fwd"],
                   ["fox_acp", "64", "fwd+bwd"]]


TRAIN_THROUGHPUT = ROOT / "benchmarks" / "train_throughput.py"


def test_train_throughput_without_torch_says_how_to_install_it():
  # `import torch` fails as if it were not installed: one line, exit status 0.
  hide_torch = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
                "runpy.run_path(sys.argv[0], run_name='__main__')")
  result = subprocess.run([sys.executable, "-c", hide_torch, str(TRAIN_THROUGHPUT)], capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 0, result.stderr
  assert result.stdout.count("\n") == 1 and "pip install torch==2.13.0" in result.stdout


def test_train_throughput_compares_the_learner_with_torch():
  pytest.importorskip("torch")  # a benchmark-only dependency, not installed with nevis[test]
  result = subprocess.run(
      [sys.executable, str(TRAIN_THROUGHPUT), "--steps", "3", "--repeats", "2", "--examples", "40", "--torch",
       "eager,channels_last", "--set", "width=4", "--set", "blocks_per_stage=[1,1]"],
      capture_output=True, text=True, timeout=600, check=True)
  names = r"nevis|nevis step|nevis step, XLA defaults|torch eager|torch channels_last"
  rates = dict(re.findall(rf"^({names})\s+(\d+) images/s", result.stdout, re.M))
  assert set(rates) == set(names.split("|")) and all(map(int, rates.values()))
  ratio = re.search(r"nevis / fastest PyTorch \(torch (eager|channels_last)\): ([\d.]+)x", result.stdout)
  fastest = max(int(rates["torch eager"]), int(rates["torch channels_last"]))
  assert ratio and float(ratio.group(2)) == pytest.approx(int(rates["nevis"]) / fastest, rel=0.05)
