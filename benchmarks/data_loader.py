"""Images per second from the prepared store to the device, augmented, against the number the default
backbone's training step consumes. Goal: the loader is at least 10x faster than training needs.

    python benchmarks/data_loader.py [--images 20000] [--store-size 64] [--batch 64] [--steps 50]

Both rates are measured in this process on the same machine: the loader path is what learners use
(`DataView.batch_at` over memory-mapped store arrays -> device -> `augment.train_preprocess`); the
training step is the default `previous` learner's backbone (a ResNet with its default width and depth)
doing forward, backward and an SGD update on already-augmented batches.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from nevis.learners import augment, finetuning
from nevis.protocol import DataView
from nevis.streams.store import Store
from nevis.task import SplitData, TaskKind


def main() -> None:
  p = argparse.ArgumentParser()
  p.add_argument("--images", type=int, default=20000)
  p.add_argument("--store-size", type=int, default=64)
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--steps", type=int, default=50)
  args = p.parse_args()
  defaults = finetuning.PreviousLearner.Config()
  image_size = defaults.image_size

  with tempfile.TemporaryDirectory() as root:
    store = Store(root, image_size=args.store_size)
    rng = np.random.default_rng(0)
    n, s = args.images, args.store_size
    images = rng.integers(0, 256, size=(n, s, s, 3), dtype=np.uint8)
    small = SplitData(images[:8], np.zeros(8, np.int32))
    store.write("bench", {"train": SplitData(images, rng.integers(0, 10, n).astype(np.int32)), "dev": small,
                          "dev_test": small, "test": small},
                class_names=[str(i) for i in range(10)], kind=TaskKind.SINGLE_LABEL, provenance={"source": "benchmark"})
    del images
    view = DataView(store.read("bench", "train"), 10, False)

    preprocess = jax.jit(augment.train_preprocess, static_argnums=2)
    key = jax.random.key(0, impl="unsafe_rbg")

    def load(step):
      batch = view.batch_at(step, args.batch, seed=0)
      return preprocess(jax.random.fold_in(key, step), jax.device_put(batch["images"]), image_size)

    load(0).block_until_ready()  # compile
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
      out = load(step)
    out.block_until_ready()
    loader_rate = args.steps * args.batch / (time.perf_counter() - started)

    # The default learner's own compiled training step (its functions are built once per architecture).
    learner = finetuning.PreviousLearner()
    functions = learner._functions
    jit = jax.jit
    init = functions.get(jit, "backbone_init")(np.zeros(4, np.uint32))
    head = functions.get(jit, "head_init")(np.zeros(4, np.uint32), 16)
    params = {"backbone": init["params"], "head": head}
    stats = init["batch_stats"]
    opt_leaves = functions.get(jit, "optimizer_init")(params)
    step_fn = functions.get(jit, "train_step_single_label")

    def train_step(params, stats, opt_leaves, x, y):
      # The step augments its raw uint8 batch itself (the same work `load` does, counted again here).
      return step_fn(params, stats, opt_leaves, np.zeros(4, np.uint32), x, y, np.int32(10), np.float32(0.1),
                     np.float32(0.0), np.int32(5), np.int32(1), np.int32(100), np.float32(augment.AREA_RANGE[0]),
                     np.float32(0.5))

    x = jax.device_put(view.batch_at(0, args.batch, seed=0)["images"])
    y = jnp.zeros(args.batch, jnp.int32)
    params, stats, opt_leaves, loss = train_step(params, stats, opt_leaves, x, y)
    loss.block_until_ready()
    started = time.perf_counter()
    for _ in range(args.steps):
      params, stats, opt_leaves, loss = train_step(params, stats, opt_leaves, x, y)
    loss.block_until_ready()
    train_rate = args.steps * args.batch / (time.perf_counter() - started)

  print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
  print(f"loader: store {args.store_size}px -> device -> random-resized-crop + flip to {image_size}px: "
        f"{loader_rate:10.0f} images/s")
  print(f"training step, default backbone (ResNet width {defaults.width}, blocks "
        f"{list(defaults.blocks_per_stage)}, {image_size}px, batch {args.batch}): {train_rate:10.0f} images/s")
  print(f"ratio loader / training: {loader_rate / train_rate:.1f}x (goal >= 10x)")


if __name__ == "__main__":
  main()
