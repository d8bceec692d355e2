"""The benchmark scripts run end to end at CPU sizes (their figures are not asserted: timings vary)."""
from __future__ import annotations

import pathlib
import re
import shutil
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


def _train_throughput_module():
  sys.path.insert(0, str(ROOT / "benchmarks"))
  try:
    import train_throughput
  finally:
    sys.path.remove(str(ROOT / "benchmarks"))
  return train_throughput


def test_train_throughput_presets_give_the_learner_options():
  tt = _train_throughput_module()
  resolve = lambda argv, fields: tt.resolve_options(tt.parse_args(argv), fields)
  loop = {"num_epochs": 0, "num_steps": 100, "eval_every_steps": 0}
  # The default is today's CPU comparison: the mini recipe's network, only its batch and image side set.
  assert resolve([], set()) == (
      {**loop, "min_batch": 16, "max_batch": 16, "image_size": 32}, 32, 16, 10, ())
  assert resolve(["--image-size", "24"], set()).options["image_size"] == 24
  resnet34 = {**loop, "min_batch": 256, "max_batch": 256, "image_size": 64, "width": 64,
              "blocks_per_stage": (3, 4, 6, 3), "stem": "cifar"}
  # bfloat16 only where the learner has the option; without it float32, said in a note.
  assert resolve(["--preset", "resnet34"], {"width", "compute_dtype"}) == (
      {**resnet34, "compute_dtype": "bfloat16"}, 64, 256, 100, ())
  setup = resolve(["--preset", "resnet34"], {"width"})
  assert setup[:4] == (resnet34, 64, 256, 100) and len(setup.notes) == 1 and "float32" in setup.notes[0]
  assert resolve(["--preset", "resnet18"], set()).options["blocks_per_stage"] == (2, 2, 2, 2)
  # Explicit flags and --set win over the preset; --set image_size over --image-size for the learner only.
  argv = ["--preset", "resnet18", "--steps", "3", "--batch", "32", "--image-size", "48", "--classes", "7", "--set",
          "width=8", "--set", "image_size=40", "--set", "compute_dtype=float32", "--set", "blocks_per_stage=[1, 2]"]
  assert resolve(argv, set()) == (
      {"num_epochs": 0, "num_steps": 3, "eval_every_steps": 0, "min_batch": 32, "max_batch": 32, "image_size": 40,
       "width": 8, "blocks_per_stage": [1, 2], "stem": "cifar", "compute_dtype": "float32"}, 48, 32, 7, ())


def test_train_throughput_presets_are_options_of_the_learner():
  from nevis.registry import LEARNERS

  tt = _train_throughput_module()
  fields = tt.learner_config_fields("previous")
  assert {"width", "blocks_per_stage", "stem", "image_size"} <= fields
  setup = tt.resolve_options(tt.parse_args(["--preset", "resnet34"]), fields)
  config = LEARNERS.get("previous")(**setup.options).config
  assert (config.width, config.blocks_per_stage, config.image_size, config.max_batch) == (64, (3, 4, 6, 3), 64, 256)
  assert getattr(config, "compute_dtype", "float32") == ("bfloat16" if "compute_dtype" in fields else "float32")


@pytest.mark.parametrize("preset", ["cpu", "resnet18"])
def test_train_throughput_runs_a_tiny_network_on_each_preset(preset):
  pytest.importorskip("torch")  # a benchmark-only dependency, not installed with nevis[test]
  result = subprocess.run(
      [sys.executable, str(TRAIN_THROUGHPUT), "--preset", preset, "--image-size", "16", "--batch", "4", "--steps",
       "2", "--repeats", "1", "--examples", "16", "--set", "width=4", "--set", "blocks_per_stage=[1]", "--torch",
       "eager"], capture_output=True, text=True, timeout=600, check=True)
  header = next(line for line in result.stdout.splitlines() if " px (images " in line)
  assert header.startswith("cpu (cpu): 16 px (images 16), width 4, blocks (1,), cifar stem, ")
  bf16 = preset == "resnet18" and "compute_dtype" in _train_throughput_module().learner_config_fields("previous")
  assert ("bfloat16" if bf16 else "float32") in header  # the GPU presets ask for bfloat16, where there is one
  assert (preset == "resnet18" and not bf16) == ("has no compute_dtype option" in result.stdout)
  assert re.search(r"^ratio nevis / torch eager +[\d.]+$", result.stdout, re.M)
  assert re.search(r"^nevis / fastest PyTorch \(torch eager\): [\d.]+x  \(goal >= 1\.0 on CPU\)", result.stdout, re.M)


GPU_CHECK = ROOT / "benchmarks" / "gpu_check.sh"


def test_gpu_check_is_valid_bash_and_its_commands_parse():
  # It runs on a lent GPU machine, where a wrong argument would cost device time: check what can be checked here.
  if not shutil.which("bash"):
    pytest.skip("no bash")
  subprocess.run(["bash", "-n", str(GPU_CHECK)], check=True)
  parts = subprocess.run(["bash", str(GPU_CHECK), "--list"], capture_output=True, text=True, check=True)
  parts = [line.split() for line in parts.stdout.splitlines()]
  assert [part[0] for part in parts] == ["attention", "resnet18", "resnet34", "peer"]
  assert sum(int(part[1]) for part in parts) <= 9 * 60  # one device call of at most 10 minutes holds it all
  # Each script's own argument parser accepts the part's arguments (and then stops: nothing is run).
  accept_only = ("import argparse, os, runpy, sys; parse = argparse.ArgumentParser.parse_args\n"
                 "def accept(self, *args, **kwargs): parse(self, *args, **kwargs); print('accepted'); sys.exit(0)\n"
                 "argparse.ArgumentParser.parse_args = accept; sys.argv = sys.argv[1:]\n"
                 "sys.path.insert(0, os.path.dirname(sys.argv[0])); runpy.run_path(sys.argv[0], run_name='__main__')")
  for name, _, script, *arguments in parts:
    result = subprocess.run([sys.executable, "-c", accept_only, str(ROOT / script), *arguments], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "accepted", (name, result.stderr[-2000:])
