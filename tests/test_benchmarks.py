"""The benchmark scripts run end to end at CPU sizes (their figures are not asserted: timings vary)."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

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
