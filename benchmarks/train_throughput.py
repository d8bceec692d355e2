"""Training throughput of nevis's fine-tuning learner against the same network, batch and optimiser in PyTorch.

    python benchmarks/train_throughput.py [--batch 16] [--steps 100] [--repeats 5] [--learner previous]
                                          [--set key=value ...] [--torch eager,channels_last,compile]

PyTorch is a benchmark-only dependency: `pip install torch==2.13.0` (the CPU wheel is enough). Without it
the script says so in one line and exits 0.

What is timed, in one process, blocks interleaved (nevis, torch variants, nevis, ...) and the median taken:
  - nevis: `learner.train` of the fine-tuning learner (the `mini` recipe unless --set changes it) on a task
    of random 32x32 images, through what the runner uses: `LearnerCalls.train` under the compute guard,
    batches from `DataView.batch_at`, every step a metered `task.jit` call with its on-device augmentation
    (flips; the crop is the recipe's). One trial, no dev checks, no within-task checkpoints; each block is one
    `train` call of `--steps` steps, after a first one that compiles. `nevis step` is the same compiled step
    called in a bare loop on one fixed batch: what the learner's loop costs on top of it. `nevis step, XLA
    defaults` is that step compiled without the learners' CPU compiler options (`learners/compiler_options.py`:
    convolutions by Eigen rather than YNNPACK): what those options gain.
  - torch: the same ResNet (`learners/resnet.py`: CIFAR stem, BasicBlocks, BatchNorm in training mode,
    momentum 0.9, eps 1e-5), the same head width and loss (softmax cross-entropy), SGD with Nesterov momentum
    and weight decay on convolution and linear weights only, the warm-up + cosine learning rate set every
    step, in-memory uint8 batches in a fresh random order per epoch, normalised to [-1, 1] and randomly
    flipped as nevis does. Variants: `eager` (NCHW), `channels_last` (eager, NHWC memory layout, the layout
    XLA uses), `compile` (torch.compile of the whole step, channels-last).
Fairness: both use every core this process may run on (`torch.set_num_threads(n)`; XLA's CPU client uses a
thread per core), float32 everywhere, the same batch size and number of steps per block. The ratio is
nevis's images/s over each torch variant's.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time

DEFAULT_VARIANTS = "eager,channels_last,compile"
INSTALL = "pip install torch==2.13.0"


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--batch", type=int, default=16, help="the mini recipe's batch on mini's tasks")
  parser.add_argument("--steps", type=int, default=100, help="training steps per timed block")
  parser.add_argument("--repeats", type=int, default=5, help="timed blocks per variant, interleaved")
  parser.add_argument("--examples", type=int, default=2048)
  parser.add_argument("--classes", type=int, default=10)
  parser.add_argument("--learner", default="previous")
  parser.add_argument("--set", dest="overrides", action="append", default=[], help="learner option key=value")
  parser.add_argument("--torch", default=DEFAULT_VARIANTS, help="comma-separated torch variants")
  args = parser.parse_args()
  torch = import_torch("train_throughput")
  if torch is None:
    return
  threads = torch.get_num_threads()
  import numpy as np

  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (args.examples, 32, 32, 3), dtype=np.uint8)
  labels = rng.integers(0, args.classes, args.examples).astype(np.int32)
  with tempfile.TemporaryDirectory() as folder:
    nevis_run = NevisLearnerRun(args, images, labels, folder)
    runs = {"nevis": nevis_run, "nevis step": NevisStepRun(nevis_run),
            "nevis step, XLA defaults": NevisStepRun(nevis_run, xla_defaults=True)}
    variants = [v for v in args.torch.split(",") if v]
    for variant in variants:
      if variant not in DEFAULT_VARIANTS.split(","):
        raise SystemExit(f"unknown torch variant {variant!r}; choose from {DEFAULT_VARIANTS}")
      runs[f"torch {variant}"] = TorchRun(torch, variant, args, images, labels, nevis_run.config)
    print(f"batch {args.batch}, {args.steps} steps per block, {args.repeats} blocks each, {threads} threads; "
          f"jax {nevis_run.jax_version}, torch {torch.__version__}; load average {_load()}", flush=True)
    if os.getloadavg()[0] > threads:
      print(f"note: the machine is busy (load {os.getloadavg()[0]:.1f} on {threads} cores): PyTorch's OpenMP threads "
            "slow down many-fold when cores are oversubscribed, so these ratios flatter nevis; compare on an idle "
            "machine, or on one core (`taskset -c 0 python ...`), where images per CPU-second are robust", flush=True)
    failed = {}
    for name, run in runs.items():  # warm-up: compilation
      try:
        run.block()
      except Exception as error:  # torch.compile needs a C++ toolchain; report it and go on
        failed[name] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:160]}"
    runs = {name: run for name, run in runs.items() if name not in failed}
    rates = {name: [] for name in runs}
    cpu_rates = {name: [] for name in runs}
    for _ in range(args.repeats):
      for name, run in runs.items():
        started, cpu_started = time.perf_counter(), time.process_time()
        run.block()
        rates[name].append(args.steps * args.batch / (time.perf_counter() - started))
        cpu_rates[name].append(args.steps * args.batch / (time.process_time() - cpu_started))
  medians = {name: statistics.median(r) for name, r in rates.items()}
  for name, r in rates.items():
    print(f"{name:24s} {medians[name]:9.0f} images/s  {statistics.median(cpu_rates[name]):9.0f} per CPU-second  "
          f"(blocks: {', '.join(f'{x:.0f}' for x in r)})")
  for name, why in failed.items():
    print(f"{name:24s} failed: {why}")
  for name in medians:
    if name.startswith("torch"):
      print(f"ratio nevis / {name:17s} {medians['nevis'] / medians[name]:6.2f}")
  peers = [name for name in medians if name.startswith("torch")]
  if peers:
    best = max(peers, key=medians.get)
    print(f"nevis / fastest PyTorch ({best}): {medians['nevis'] / medians[best]:.2f}x  (goal >= 1.0 on CPU); "
          f"load average {_load()}")


def import_torch(script: str):
  """PyTorch with a thread per core this process may run on (as XLA's CPU client), or None after saying in
  one line how to install it."""
  try:
    import torch
  except ImportError:
    print(f"{script}: PyTorch is not installed, so there is nothing to compare with; `{INSTALL}` "
          "(the CPU wheel is enough) and run again")
    return None
  torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
  return torch


def _load() -> str:
  return " ".join(f"{x:.2f}" for x in os.getloadavg())


class NevisLearnerRun:
  """`learner.train` of a fine-tuning learner, called as the runner calls it."""

  def __init__(self, args, images, labels, folder: str):
    import jax
    overrides = args.overrides

    from nevis import guard
    from nevis.config import parse_override
    from nevis.learner_calls import LearnerCalls, RunTimings
    from nevis.meter import ComputeMeter
    from nevis.protocol import DataView, InitContext
    from nevis.registry import LEARNERS, import_modules
    from nevis.resources import ResourceMeter
    from nevis.task import SplitData, TaskInfo, TaskKind

    import_modules(())
    options = {"num_epochs": 0, "num_steps": args.steps, "eval_every_steps": 0, "min_batch": args.batch,
               "max_batch": args.batch}
    for text in overrides:
      (key, *_), value = parse_override(text)
      options[key] = value
    self.learner = LEARNERS.get(args.learner)(**options)
    self.config = self.learner.config
    self.jax_version = jax.__version__
    self.meter = ComputeMeter()
    self.calls = LearnerCalls(args.learner, self.meter, ResourceMeter(), RunTimings(), eval_batch_size=128,
                              checkpoint_every_steps=0)
    class_names = tuple(f"class {i}" for i in range(args.classes))
    info = TaskInfo("random", "random", 2000, TaskKind.SINGLE_LABEL, class_names, images.shape[1:])
    train = DataView(SplitData(images, labels), args.classes, False)
    dev = DataView(SplitData(images[:0], labels[:0]), args.classes, False)
    self.task = self.calls.training_task(info, train, dev, jax.random.key(1), folder)
    self._session = guard.session(self.meter.charge_guarded)
    self._session.__enter__()  # left open for the process: the guard is on during a run
    self.state = self.learner.init(InitContext(jax.random.key(0), self.meter.learner_jit, (info,)))

  def block(self) -> None:
    state = self.calls.train(self.learner, self.task, self.state, charge="train")
    leaves = __import__("jax").tree.leaves(state["carry"] or state["backbones"])
    leaves[0].block_until_ready()


class NevisStepRun:
  """The learner's compiled train step in a bare loop on one batch: no data path, no meter, no learner loop."""

  def __init__(self, learner_run: NevisLearnerRun, xla_defaults: bool = False):
    import jax
    import numpy as np

    from nevis.learners import compiler_options, finetune_search
    from nevis.learners.toolkit import padded_labels

    learner, task = learner_run.learner, learner_run.task
    plan = learner.plan(task, len(task.train))
    start = learner.starting_point(task, learner_run.state, plan.outputs)
    fns = learner._functions
    options = {} if xla_defaults else compiler_options.jit_options()
    self.step = jax.jit(fns.definitions["train_step_single_label"][0], **options)
    batch = task.train.batch_at(0, plan.batch_size, seed=plan.data_seed)
    labels = padded_labels(batch["labels"], plan.outputs, False)
    fixed = finetune_search.fixed_arguments(plan, task.info.num_classes)
    self.arguments = finetune_search.step_arguments(plan, fixed, batch, labels, np.float32(0.1), np.float32(0),
                                                    1)
    self.params, self.batch_stats = start["params"], start["batch_stats"]
    self.opt = jax.jit(fns.definitions["optimizer_init"][0])(self.params)
    self.steps = plan.num_steps

  def block(self) -> None:
    from nevis import guard

    params, stats, opt = self.params, self.batch_stats, self.opt
    with guard.METERED:  # JAX's C++ dispatch, as a metered call gets (the guard keeps other calls off it)
      for _ in range(self.steps):
        params, stats, opt, loss = self.step(params, stats, opt, *self.arguments)
    loss.block_until_ready()


class TorchRun:
  """The same network, loss, optimiser and schedule in PyTorch, as a PyTorch user would write the loop."""

  def __init__(self, torch, variant: str, args, images, labels, config):
    self.torch, self.variant = torch, variant
    self.batch, self.steps = args.batch, args.steps
    torch.manual_seed(0)
    self.images = torch.from_numpy(images)  # (N, H, W, C) uint8, in memory
    self.labels = torch.from_numpy(labels).long()
    self.channels_last = variant in ("channels_last", "compile")
    net = torch_resnet(torch, config.width, config.blocks_per_stage, args.classes)
    if self.channels_last:
      net = net.to(memory_format=torch.channels_last)
    net.train()  # BatchNorm in training mode, as nevis's step
    decay = [p for name, p in net.named_parameters() if p.ndim > 1]  # conv and linear weights
    no_decay = [p for name, p in net.named_parameters() if p.ndim <= 1]  # biases, BatchNorm scales
    self.lr = torch.tensor(0.0)
    self.optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}],
                                     lr=self.lr, momentum=config.momentum, nesterov=True)
    self.net, self.loss = net, torch.nn.CrossEntropyLoss()
    self.warmup = round(config.warmup_fraction * args.steps)
    self.order, self.position = torch.randperm(len(self.images)), 0
    self.train_step = torch.compile(self._step) if variant == "compile" else self._step

  def _step(self, x, y):
    self.optimizer.zero_grad(set_to_none=True)
    loss = self.loss(self.net(x), y)
    loss.backward()
    self.optimizer.step()
    return loss

  def _batch(self):
    torch = self.torch
    if self.position + self.batch > len(self.order):
      self.order, self.position = torch.randperm(len(self.images)), 0
    index = self.order[self.position:self.position + self.batch]
    self.position += self.batch
    x = self.images[index].permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    flip = torch.rand(len(index)) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if self.channels_last:
      x = x.contiguous(memory_format=torch.channels_last)
    return x, self.labels[index]

  def block(self) -> None:
    for step in range(self.steps):
      self.lr.fill_(_warmup_cosine(step, 0.1, self.warmup, self.steps))
      x, y = self._batch()
      loss = self.train_step(x, y)
    float(loss.detach())


def _warmup_cosine(step: int, peak: float, warmup: int, total: int, end: float = 1e-8) -> float:
  if step < warmup:
    return peak * step / max(warmup, 1)
  progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
  return end + (peak - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def torch_resnet(torch, width: int, blocks_per_stage, num_classes: int):
  """`learners/resnet.py`'s ResNet with the CIFAR stem, and a linear head."""
  nn = torch.nn

  def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)  # PyTorch's 0.1 is Flax's momentum 0.9

  class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
      super().__init__()
      self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
      self.bn1 = batch_norm(cout)
      self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
      self.bn2 = batch_norm(cout)
      self.projection = None
      if stride != 1 or cin != cout:
        self.projection = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), batch_norm(cout))

    def forward(self, x):
      y = torch.relu(self.bn1(self.conv1(x)))
      y = self.bn2(self.conv2(y))
      return torch.relu(y + (x if self.projection is None else self.projection(x)))

  layers = [nn.Conv2d(3, width, 3, 1, 1, bias=False), batch_norm(width), nn.ReLU()]
  channels = width
  for stage, blocks in enumerate(blocks_per_stage):
    for block in range(blocks):
      out = width * 2**stage
      layers.append(BasicBlock(channels, out, 2 if stage > 0 and block == 0 else 1))
      channels = out
  layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
  return nn.Sequential(*layers)


if __name__ == "__main__":
  sys.exit(main())
