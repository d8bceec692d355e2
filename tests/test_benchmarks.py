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


CONV_KERNELS = ROOT / "benchmarks" / "conv_kernels.py"


@pytest.mark.parametrize("script", [TRAIN_THROUGHPUT, CONV_KERNELS], ids=lambda path: path.stem)
def test_a_torch_benchmark_without_torch_says_how_to_install_it(script):
  # `import torch` fails as if it were not installed: one line, exit status 0.
  # The script runs as `python benchmarks/<script>.py` would: its folder first on sys.path.
  hide_torch = ("import os, runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
                "sys.path.insert(0, os.path.dirname(sys.argv[0])); runpy.run_path(sys.argv[0], run_name='__main__')")
  result = subprocess.run([sys.executable, "-c", hide_torch, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT.parent)
  assert result.returncode == 0, result.stderr
  assert result.stdout.count("\n") == 1 and "pip install torch==2.13.0" in result.stdout


def _model_convolutions(width, blocks_per_stage, image_size, monkeypatch):
  """(input side, input channels, output channels, kernel size, stride) of the convolutions in the jaxpr of
  `learners/resnet.py`'s forward pass, its stem as a convolution (as off CPU)."""
  import jax
  from flax import nnx

  from nevis.learners import resnet

  monkeypatch.setattr(resnet, "stem_uses_taps", lambda channels: False)
  graphdef, state = nnx.split(nnx.eval_shape(
      lambda: resnet.ResNet(width=width, blocks_per_stage=blocks_per_stage, rngs=nnx.Rngs(0))))
  images = jax.ShapeDtypeStruct((2, image_size, image_size, 3), "float32")
  jaxpr = jax.make_jaxpr(lambda state, images: nnx.merge(graphdef, state)(images, train=True))(state, images)

  def convolutions(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "conv_general_dilated":
        lhs, rhs = (v.aval.shape for v in eqn.invars)
        yield lhs[1], lhs[3], rhs[3], rhs[0], eqn.params["window_strides"][0]
      for param in eqn.params.values():
        if hasattr(param, "jaxpr"):
          yield from convolutions(param.jaxpr)

  return list(convolutions(jaxpr.jaxpr))


@pytest.mark.parametrize("width, blocks_per_stage, image_size", [(16, (1, 1, 1), 32), (8, (2,), 16), (4, (2, 1), 8)])
def test_conv_kernels_lists_the_networks_convolutions(width, blocks_per_stage, image_size, monkeypatch):
  sys.path.insert(0, str(ROOT / "benchmarks"))
  try:
    import conv_kernels
  finally:
    sys.path.remove(str(ROOT / "benchmarks"))
  listed = conv_kernels.network_convolutions(width, blocks_per_stage, image_size)
  assert listed == _model_convolutions(width, blocks_per_stage, image_size, monkeypatch)
  if blocks_per_stage == (1, 1, 1):  # the mini ResNet, by hand: stem; stage 0 two 16->16; then per stage a
    assert listed == [                # strided 3x3, a 3x3 at the new side and the strided 1x1 projection
        (32, 3, 16, 3, 1), (32, 16, 16, 3, 1), (32, 16, 16, 3, 1),
        (32, 16, 32, 3, 2), (16, 32, 32, 3, 1), (32, 16, 32, 1, 2),
        (16, 32, 64, 3, 2), (8, 64, 64, 3, 1), (16, 32, 64, 1, 2)]


def test_conv_kernels_times_xla_against_torch():
  pytest.importorskip("torch")  # a benchmark-only dependency, not installed with nevis[test]
  result = subprocess.run(
      [sys.executable, str(CONV_KERNELS), "--batch", "2", "--width", "4", "--blocks", "1,1", "--image-size", "8",
       "--calls", "2", "--repeats", "2"], capture_output=True, text=True, timeout=600, check=True)
  rows = re.findall(r"^\s+\d+x\d+x\d+->\d+\s+(\d) +(\d) +(\d) \|", result.stdout, re.M)
  assert rows == [("3", "1", "1"), ("3", "1", "2"), ("3", "2", "1"), ("3", "1", "1"), ("1", "2", "1")]
  total = re.search(r"all, per step \| +([\d.]+) +([\d.]+) +([\d.]+)x \| +([\d.]+) +([\d.]+) +([\d.]+)x",
                    result.stdout)
  xla_fwd, torch_fwd, ratio_fwd, xla_both, torch_both, ratio_both = map(float, total.groups())
  assert ratio_fwd == pytest.approx(torch_fwd / xla_fwd, rel=0.05, abs=0.01)
  assert ratio_both == pytest.approx(torch_both / xla_both, rel=0.05, abs=0.01)


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
