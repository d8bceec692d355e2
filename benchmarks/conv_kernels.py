"""The convolutions of the fine-tuning ResNet, one by one: XLA's kernels against PyTorch's (oneDNN).

    python benchmarks/conv_kernels.py [--batch 16] [--width 16] [--blocks 1,1,1] [--image-size 32]
                                      [--calls 100] [--repeats 5]

PyTorch is a benchmark-only dependency: `pip install torch==2.13.0` (the CPU wheel is enough). Without it
the script says so in one line and exits 0.

Where `train_throughput.py` says how fast a whole training step is, this says how much of the difference
is the convolution kernels. Every distinct convolution of the network (the `mini` recipe's unless options
change it; the CIFAR stem) is timed alone, in one process, blocks interleaved and the median taken:
  - forward: the convolution of a (batch, H, W, C) float32 input, as the train step's forward pass;
  - forward+backward: the forward and the gradients a train step needs, of the weights and (for every layer
    but the stem, whose input is the images) of the input.
XLA: `jax.jit` with the learners' compiler options (`learners/compiler_options.py`), NHWC, as the network
computes them with `cpu_convolutions: xla` (on CPU its stem as summed taps, `learners/resnet.py`); where the
`onednn` extra is installed the learners use oneDNN's instead (`learners/cpu_convolutions.py`), the kernels
PyTorch's column times.
PyTorch: `torch.nn.functional.conv2d` on channels-last tensors (its fastest layout here; oneDNN's kernels),
`torch.autograd.grad` for the gradients. Both use every core this process may run on.
The totals weight each convolution by how often the network has it: the convolution time of one train step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import jax
from train_throughput import import_torch  # a sibling script: `python benchmarks/conv_kernels.py` finds it


def network_convolutions(width: int, blocks_per_stage, image_size: int) -> list[tuple[int, int, int, int, int]]:
  """(input side, input channels, output channels, kernel size, stride) of every convolution of
  `learners/resnet.py`'s ResNet with the CIFAR stem, in the order the forward pass runs them."""
  convolutions = [(image_size, 3, width, 3, 1)]
  side, channels = image_size, width
  for stage, blocks in enumerate(blocks_per_stage):
    out = width * 2**stage
    for block in range(blocks):
      stride = 2 if stage > 0 and block == 0 else 1
      convolutions.append((side, channels, out, 3, stride))
      convolutions.append((side // stride, out, out, 3, 1))
      if stride != 1 or channels != out:  # the projection of the shortcut, after the block's two
        convolutions.append((side, channels, out, 1, stride))
      side, channels = side // stride, out
  return convolutions


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--batch", type=int, default=16, help="the mini recipe's batch on mini's tasks")
  parser.add_argument("--width", type=int, default=16)
  parser.add_argument("--blocks", default="1,1,1", help="blocks per stage, comma-separated")
  parser.add_argument("--image-size", type=int, default=32)
  parser.add_argument("--calls", type=int, default=100, help="calls per timed block")
  parser.add_argument("--repeats", type=int, default=5, help="timed blocks per kernel, interleaved")
  args = parser.parse_args()
  torch = import_torch("conv_kernels")
  if torch is None:
    return
  from nevis.learners import resnet

  threads = torch.get_num_threads()
  blocks = tuple(int(b) for b in args.blocks.split(","))
  convolutions = network_convolutions(args.width, blocks, args.image_size)
  counts = {shape: convolutions.count(shape) for shape in convolutions}
  print(f"batch {args.batch}, {args.calls} calls per block, {args.repeats} blocks each, {threads} threads; "
        f"jax {jax.__version__}, torch {torch.__version__}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
  print(f"{'input':>14s} {'k':>3s} {'s':>2s} {'x':>2s} | {'forward, ms':>22s} | {'forward+backward, ms':>22s}")
  print(f"{'':>14s} {'':>3s} {'':>2s} {'':>2s} | {'XLA':>6s} {'torch':>6s} {'ratio':>7s} | {'XLA':>6s} "
        f"{'torch':>6s} {'ratio':>7s}")
  if resnet.stem_uses_taps(3):
    print("the stem (first row) as the network computes it on this backend: XLA's summed taps "
          "(learners/resnet.py `tap_convolution`), the convolution's gradients")
  totals = {"xla fwd": 0.0, "torch fwd": 0.0, "xla fwd+bwd": 0.0, "torch fwd+bwd": 0.0}
  for index, shape in enumerate(counts):
    side, cin, cout, kernel, stride = shape
    kernels = {
        "xla": _xla_kernels(args.batch, side, cin, cout, kernel, stride, input_gradient=index > 0,
                            taps=index == 0 and resnet.stem_uses_taps(cin)),
        "torch": _torch_kernels(torch, args.batch, side, cin, cout, kernel, stride, input_gradient=index > 0),
    }
    times = {f"{lib} {part}": [] for lib in kernels for part in ("fwd", "fwd+bwd")}
    for lib, (forward, backward) in kernels.items():  # warm-up: compilation, oneDNN primitive creation
      forward(), backward()
    for _ in range(args.repeats):
      for lib, (forward, backward) in kernels.items():
        for part, fn in (("fwd", forward), ("fwd+bwd", backward)):
          times[f"{lib} {part}"].append(_time_ms(fn, args.calls))
    ms = {name: statistics.median(t) for name, t in times.items()}
    for name in totals:
      totals[name] += counts[shape] * ms[name]
    print(f"{f'{side}x{side}x{cin}->{cout}':>14s} {kernel:>3d} {stride:>2d} {counts[shape]:>2d} | "
          f"{ms['xla fwd']:6.3f} {ms['torch fwd']:6.3f} {ms['torch fwd'] / ms['xla fwd']:6.2f}x | "
          f"{ms['xla fwd+bwd']:6.3f} {ms['torch fwd+bwd']:6.3f} {ms['torch fwd+bwd'] / ms['xla fwd+bwd']:6.2f}x",
          flush=True)
  print(f"{'all, per step':>24s} | {totals['xla fwd']:6.3f} {totals['torch fwd']:6.3f} "
        f"{totals['torch fwd'] / totals['xla fwd']:6.2f}x | {totals['xla fwd+bwd']:6.3f} "
        f"{totals['torch fwd+bwd']:6.3f} {totals['torch fwd+bwd'] / totals['xla fwd+bwd']:6.2f}x")
  print(f"ratio XLA / PyTorch speed of the convolutions of one train step: "
        f"{totals['torch fwd+bwd'] / totals['xla fwd+bwd']:.2f}x (forward alone "
        f"{totals['torch fwd'] / totals['xla fwd']:.2f}x)")


def _time_ms(fn, calls: int) -> float:
  started = time.perf_counter()
  for _ in range(calls):
    result = fn()
  jax.block_until_ready(result)  # PyTorch's CPU results are ready already
  return (time.perf_counter() - started) / calls * 1e3


def _xla_kernels(batch, side, cin, cout, kernel, stride, *, input_gradient: bool, taps: bool):
  from nevis.learners import compiler_options, resnet

  x = jax.random.normal(jax.random.key(0), (batch, side, side, cin))
  w = jax.random.normal(jax.random.key(1), (kernel, kernel, cin, cout)) * 0.1

  def conv(x, w):  # "SAME", as the network's flax convolutions
    return jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

  if taps:  # the stem as the network computes it on this backend
    conv = resnet.tap_convolution

  dy = jax.random.normal(jax.random.key(2), jax.eval_shape(conv, x, w).shape)

  def forward_backward(x, w, dy):
    if input_gradient:
      y, vjp = jax.vjp(conv, x, w)
    else:
      y, vjp = jax.vjp(lambda w: conv(x, w), w)
    return y, vjp(dy)

  options = compiler_options.jit_options()
  forward, backward = jax.jit(conv, **options), jax.jit(forward_backward, **options)
  return (lambda: forward(x, w)), (lambda: backward(x, w, dy))


def _torch_kernels(torch, batch, side, cin, cout, kernel, stride, *, input_gradient: bool):
  torch.manual_seed(0)
  channels_last = torch.channels_last
  x = torch.randn(batch, cin, side, side).contiguous(memory_format=channels_last).requires_grad_(input_gradient)
  w = (torch.randn(cout, cin, kernel, kernel) * 0.1).contiguous(memory_format=channels_last).requires_grad_(True)

  def conv():
    return torch.nn.functional.conv2d(x, w, stride=stride, padding=kernel // 2)

  with torch.no_grad():
    dy = torch.randn_like(conv()).contiguous(memory_format=channels_last)

  def forward():
    with torch.no_grad():
      return conv()

  def backward():
    return torch.autograd.grad(conv(), (x, w) if input_gradient else (w,), dy)

  return forward, backward


if __name__ == "__main__":
  main()
