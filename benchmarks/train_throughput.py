"""Training throughput of nevis's fine-tuning learner against the same network, batch and optimiser in PyTorch.

    python benchmarks/train_throughput.py [--preset cpu|resnet18|resnet34] [--batch 16] [--image-size 32]
                                          [--classes 10] [--steps 100] [--repeats 5] [--learner previous]
                                          [--set key=value ...] [--torch eager,channels_last,compile]

PyTorch is a benchmark-only dependency: `pip install torch==2.13.0` (the CPU wheel is enough). Without it
the script says so in one line and exits 0.

Presets (explicit flags and `--set` win over a preset's values):
  - `cpu` (the default): the `mini` recipe's ResNet (width 16, one block in each of 3 stages) on 32x32
    images, batch 16, 10 classes, float32.
  - `resnet18`, `resnet34`: the issue's GPU configuration, the anchor of
    ../shared/reference/training_anchor_h200.md: width 64, blocks (2, 2, 2, 2) or (3, 4, 6, 3), CIFAR stem,
    64x64 images, batch 256, 100 classes, and `compute_dtype=bfloat16` where the learner has that option
    (else float32, with a note). Goal on an H200: nevis >= 1.2x torch.compile (12,204 images/s, ResNet-34).
`--image-size` is the side of the random images and the learner's `image_size` (unless `--set image_size=`).
With the learner's `compute_dtype` bfloat16 (activations and convolutions in bfloat16; parameters, BatchNorm
statistics and the loss in float32) torch runs forward and loss under `torch.autocast(device, bfloat16)`, as
the anchor does; otherwise both sides are float32.

What is timed, in one process, blocks interleaved (nevis, torch variants, nevis, ...) and the median taken:
  - nevis: `learner.train` of the fine-tuning learner (the `mini` recipe unless --set changes it) on a task
    of random images, through what the runner uses: `LearnerCalls.train` under the compute guard,
    batches from `DataView.batch_at`, every step a metered `task.jit` call with its on-device augmentation
    (flips; the crop is the recipe's). One trial, no dev checks, no within-task checkpoints; each block is one
    `train` call of `--steps` steps, after a first one that compiles. `nevis step` is the same compiled step
    called in a bare loop on one fixed batch: what the learner's loop costs on top of it. `nevis step, XLA
    defaults` (on CPU with XLA's convolutions only: with oneDNN's, `cpu_convolutions`, the options are moot) is
    that step compiled without the learners' CPU options (`compiler_options.py`: Eigen's convolutions, not YNNPACK's).
  - torch: the same ResNet (`learners/resnet.py`: CIFAR or ImageNet stem, BasicBlocks, BatchNorm in training
    mode, momentum 0.9, eps 1e-5), the same loss (softmax cross-entropy), SGD with Nesterov momentum
    and weight decay on convolution and linear weights only, the warm-up + cosine learning rate set every
    step, in-memory uint8 batches in a fresh random order per epoch, normalised to [-1, 1] and randomly
    flipped as nevis does. Variants: `eager` (NCHW), `channels_last` (eager, NHWC memory layout, the layout
    XLA uses), `compile` (torch.compile of the whole step, channels-last).
On CPU both use every core this process may run on (`torch.set_num_threads(n)`; XLA's CPU client uses a
thread per core). On a GPU (`jax.default_backend() == "gpu"`) torch runs on `cuda` (no CUDA in torch: the
torch variants are skipped, said in one line) with cuDNN's autotuner on (as XLA autotunes), its images and
labels on the GPU once and each batch gathered, normalised and flipped there; every timed block ends with
`torch.cuda.synchronize()`. JAX may then take half the GPU's memory (`XLA_PYTHON_CLIENT_MEM_FRACTION`, unless
set), not its default 75%, so that torch has room. Both sides run the same batch size and number of steps
per block. The ratio is nevis's images/s over each torch variant's.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import tempfile
import time
from typing import NamedTuple

DEFAULT_VARIANTS = "eager,channels_last,compile"
INSTALL = "pip install torch==2.13.0"
# Per preset: learner options, then the image side, batch and classes (the script's own flags).
PRESETS = {
    "cpu": {"image_size": 32, "batch": 16, "classes": 10},
    "resnet18": {"width": 64, "blocks_per_stage": (2, 2, 2, 2), "stem": "cifar", "compute_dtype": "bfloat16",
                 "image_size": 64, "batch": 256, "classes": 100},
    "resnet34": {"width": 64, "blocks_per_stage": (3, 4, 6, 3), "stem": "cifar", "compute_dtype": "bfloat16",
                 "image_size": 64, "batch": 256, "classes": 100},
}
NETWORK_OPTIONS = ("width", "blocks_per_stage", "stem")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="network, images, batch, classes")
  parser.add_argument("--batch", type=int, help="default: the preset's (cpu: 16, the mini recipe's on mini)")
  parser.add_argument("--image-size", type=int, help="side of the random images (cpu: 32; GPU presets: 64)")
  parser.add_argument("--classes", type=int, help="default: the preset's (cpu: 10)")
  parser.add_argument("--steps", type=int, default=100, help="training steps per timed block")
  parser.add_argument("--repeats", type=int, default=5, help="timed blocks per variant, interleaved")
  parser.add_argument("--examples", type=int, default=2048)
  parser.add_argument("--learner", default="previous")
  parser.add_argument("--set", dest="overrides", action="append", default=[], help="learner option key=value")
  parser.add_argument("--torch", default=DEFAULT_VARIANTS, help="comma-separated torch variants")
  return parser.parse_args(argv)


class Setup(NamedTuple):
  options: dict  # the learner's options
  image_size: int  # side of the random images
  batch: int
  classes: int
  notes: tuple[str, ...]  # what the preset asked for that this learner cannot do


def resolve_options(args: argparse.Namespace, config_fields) -> Setup:
  """The preset's values, then explicit flags, then `--set`; `config_fields`: the learner config's field names
  (the GPU presets ask for bfloat16 only where the learner has `compute_dtype`)."""
  from nevis.config import parse_override

  preset = PRESETS[args.preset]
  image_size, batch, classes = (preset[key] if getattr(args, key) is None else getattr(args, key)
                                for key in ("image_size", "batch", "classes"))
  options = {"num_epochs": 0, "num_steps": args.steps, "eval_every_steps": 0, "min_batch": batch, "max_batch": batch,
             "image_size": image_size, **{key: preset[key] for key in NETWORK_OPTIONS if key in preset}}
  explicit = {path[0]: value for path, value in map(parse_override, args.overrides)}
  notes = []
  if "compute_dtype" in preset and "compute_dtype" not in explicit:
    if "compute_dtype" in config_fields:
      options["compute_dtype"] = preset["compute_dtype"]
    else:
      notes.append(f"note: learner {args.learner!r} has no compute_dtype option yet: float32 on both sides, "
                   f"not the preset's {preset['compute_dtype']}")
  return Setup({**options, **explicit}, image_size, batch, classes, tuple(notes))


def learner_config_fields(name: str) -> set[str]:
  from nevis.registry import LEARNERS, import_modules

  import_modules(())
  return {field.name for field in dataclasses.fields(LEARNERS.get(name).Config)}


def main(argv: list[str] | None = None) -> None:
  args = parse_args(argv)
  torch = import_torch("train_throughput")
  if torch is None:
    return
  threads = torch.get_num_threads()
  # Both frameworks share one GPU in this process: JAX's default preallocation (75%) would leave torch a quarter.
  os.environ.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.5")
  import jax
  import numpy as np

  setup = resolve_options(args, learner_config_fields(args.learner))
  for note in setup.notes:
    print(note, flush=True)
  backend = jax.default_backend()
  on_cpu = backend == "cpu"
  device = "cpu" if on_cpu else "cuda"
  variants = [v for v in args.torch.split(",") if v]
  for variant in variants:
    if variant not in DEFAULT_VARIANTS.split(","):
      raise SystemExit(f"unknown torch variant {variant!r}; choose from {DEFAULT_VARIANTS}")
  if not on_cpu and not (backend == "gpu" and torch.cuda.is_available()):
    print(f"JAX runs on {backend} but torch {torch.__version__} has no CUDA device: the torch variants are skipped")
    variants = []
  elif not on_cpu:
    torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its kernels, as XLA autotunes its own

  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (args.examples, setup.image_size, setup.image_size, 3), dtype=np.uint8)
  labels = rng.integers(0, setup.classes, args.examples).astype(np.int32)
  with tempfile.TemporaryDirectory() as folder:
    nevis_run = NevisLearnerRun(args.learner, setup, images, labels, folder)
    config = nevis_run.config
    dtype = getattr(config, "compute_dtype", "float32")
    from nevis.learners import cpu_convolutions  # oneDNN's convolutions where the `onednn` extra is installed
    onednn = on_cpu and cpu_convolutions.uses_onednn(getattr(config, "cpu_convolutions", "xla"))
    runs = {"nevis": nevis_run, "nevis step": NevisStepRun(nevis_run)}
    if on_cpu and not onednn:  # the learners' compiler options choose XLA's CPU convolution kernels: else moot
      runs["nevis step, XLA defaults"] = NevisStepRun(nevis_run, xla_defaults=True)
    for variant in variants:
      runs[f"torch {variant}"] = TorchRun(torch, variant, device, setup, args.steps, images, labels, config)
    print(f"{jax.devices()[0].device_kind} ({backend}): {config.image_size} px (images {setup.image_size}), width "
          f"{config.width}, blocks {tuple(config.blocks_per_stage)}, {config.stem} stem, {dtype}, "
          f"{'oneDNN' if onednn else 'XLA'} convolutions, batch "
          f"{setup.batch}, {setup.classes} classes; {args.steps} steps per block, {args.repeats} blocks each, "
          f"{threads} threads; jax {jax.__version__}, torch {torch.__version__}; load average {_load()}", flush=True)
    if config.image_size != setup.image_size:
      print(f"note: nevis resizes the {setup.image_size} px images to {config.image_size} px; torch trains on them "
            "as they are", flush=True)
    if on_cpu and os.getloadavg()[0] > threads:
      print(f"note: the machine is busy (load {os.getloadavg()[0]:.1f} on {threads} cores): PyTorch's OpenMP threads "
            "slow down many-fold when cores are oversubscribed, so these ratios flatter nevis; compare on an idle "
            "machine, or on one core (`taskset -c 0 python ...`), where images per CPU-second are robust", flush=True)
    failed = {}
    for name, run in runs.items():  # warm-up: compilation
      started = time.perf_counter()
      try:
        run.block()
      except Exception as error:  # torch.compile needs a C++ toolchain; report it and go on
        failed[name] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:160]}"
      print(f"warm-up {name}: {time.perf_counter() - started:.1f} s", flush=True)
    runs = {name: run for name, run in runs.items() if name not in failed}
    rates = {name: [] for name in runs}
    cpu_rates = {name: [] for name in runs}
    for _ in range(args.repeats):
      for name, run in runs.items():
        started, cpu_started = time.perf_counter(), time.process_time()
        run.block()
        rates[name].append(args.steps * setup.batch / (time.perf_counter() - started))
        cpu_rates[name].append(args.steps * setup.batch / (time.process_time() - cpu_started))
  medians = {name: statistics.median(r) for name, r in rates.items()}
  for name, r in rates.items():
    print(f"{name:24s} {medians[name]:9.0f} images/s  {statistics.median(cpu_rates[name]):9.0f} per CPU-second  "
          f"(blocks: {', '.join(f'{x:.0f}' for x in r)})")
  for name, why in failed.items():
    print(f"{name:24s} failed: {why}")
  for name in medians:
    if name.startswith("torch") and "nevis" in medians:
      print(f"ratio nevis / {name:17s} {medians['nevis'] / medians[name]:6.2f}")
  peers = [name for name in medians if name.startswith("torch")]
  if peers and "nevis" in medians:
    best = max(peers, key=medians.get)
    goal = "goal >= 1.0 on CPU" if on_cpu else "goal >= 1.2 on GPU"
    print(f"nevis / fastest PyTorch ({best}): {medians['nevis'] / medians[best]:.2f}x  ({goal}); "
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

  def __init__(self, learner_name: str, setup: Setup, images, labels, folder: str):
    import jax

    from nevis import guard
    from nevis.learner_calls import LearnerCalls, RunTimings
    from nevis.meter import ComputeMeter
    from nevis.protocol import DataView, InitContext
    from nevis.registry import LEARNERS
    from nevis.resources import ResourceMeter
    from nevis.task import SplitData, TaskInfo, TaskKind

    self.learner = LEARNERS.get(learner_name)(**setup.options)
    self.config = self.learner.config
    self.meter = ComputeMeter()
    self.calls = LearnerCalls(learner_name, self.meter, ResourceMeter(), RunTimings(), eval_batch_size=128,
                              checkpoint_every_steps=0)
    class_names = tuple(f"class {i}" for i in range(setup.classes))
    info = TaskInfo("random", "random", 2000, TaskKind.SINGLE_LABEL, class_names, images.shape[1:])
    train = DataView(SplitData(images, labels), setup.classes, False)
    dev = DataView(SplitData(images[:0], labels[:0]), setup.classes, False)
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

  def __init__(self, torch, variant: str, device: str, setup: Setup, steps: int, images, labels, config):
    self.torch, self.variant, self.device = torch, variant, device
    self.batch, self.steps = setup.batch, steps
    torch.manual_seed(0)
    self.images = torch.from_numpy(images).to(device)  # (N, H, W, C) uint8, in the device's memory once
    self.labels = torch.from_numpy(labels).long().to(device)
    self.channels_last = variant in ("channels_last", "compile")
    # As the anchor: forward and loss under autocast, parameters and optimiser in float32.
    self.autocast = getattr(config, "compute_dtype", "float32") == "bfloat16"
    net = torch_resnet(torch, config.width, config.blocks_per_stage, setup.classes, config.stem).to(device)
    if self.channels_last:
      net = net.to(memory_format=torch.channels_last)
    net.train()  # BatchNorm in training mode, as nevis's step
    decay = [p for name, p in net.named_parameters() if p.ndim > 1]  # conv and linear weights
    no_decay = [p for name, p in net.named_parameters() if p.ndim <= 1]  # biases, BatchNorm scales
    self.lr = torch.tensor(0.0)  # a host tensor: set every step without recompiling `compile` or a device sync
    self.optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}],
                                     lr=self.lr, momentum=config.momentum, nesterov=True)
    self.net, self.loss = net, torch.nn.CrossEntropyLoss()
    self.warmup = round(config.warmup_fraction * steps)
    self.order, self.position = self._permutation(), 0
    self.train_step = torch.compile(self._step) if variant == "compile" else self._step

  def _permutation(self):
    return self.torch.randperm(len(self.images), device=self.device)

  def _step(self, x, y):
    self.optimizer.zero_grad(set_to_none=True)
    with self.torch.autocast(self.device, dtype=self.torch.bfloat16, enabled=self.autocast):
      loss = self.loss(self.net(x), y)
    loss.backward()
    self.optimizer.step()
    return loss

  def _batch(self):
    torch = self.torch
    if self.position + self.batch > len(self.order):
      self.order, self.position = self._permutation(), 0
    index = self.order[self.position:self.position + self.batch]
    self.position += self.batch
    x = self.images[index].permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    flip = torch.rand(len(index), device=self.device) < 0.5
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
    if self.device == "cuda":
      self.torch.cuda.synchronize()


def _warmup_cosine(step: int, peak: float, warmup: int, total: int, end: float = 1e-8) -> float:
  if step < warmup:
    return peak * step / max(warmup, 1)
  progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
  return end + (peak - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def torch_resnet(torch, width: int, blocks_per_stage, num_classes: int, stem: str = "cifar"):
  """`learners/resnet.py`'s ResNet (CIFAR stem: 3x3; ImageNet stem: 7x7 stride 2 and a max-pool), a linear head."""
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

  if stem == "imagenet":
    layers = [nn.Conv2d(3, width, 7, 2, 3, bias=False), batch_norm(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
  else:
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
