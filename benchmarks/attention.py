"""Causal attention timings: our FoX (blockwise, with and without ACP; plain; the Pallas kernels on GPU)
against JAX's dot_product_attention without a forget gate (cuDNN on GPU, XLA on CPU), all in one process.

    python benchmarks/attention.py            # GPU: B=2, H=16, D=128, bf16, T = 2k, 8k, 16k
    python benchmarks/attention.py --small    # CPU-sized (the default when no GPU is present)

On a GPU it first checks the Pallas kernels against the blockwise form (outputs and gradients, bf16 and
float32, with and without ACP) and prints the largest differences, then times every method. Kernel
tilings to compare are given as block:inner:warps:stages (`--pallas-configs 128:64:8:2 64:64:4:2`);
each becomes the methods `pallas[<config>]` (no ACP) and `pallas_acp[<config>]` (anchor gate mix).

Gate mix as in ../shared/reference/attention_anchor_h200.md: half the heads have forget-gate logits
~ N(1, 0.5) (fast forgetting), half ~ N(6, 0.5) (slow). 'fox_acp_fast' puts every head on the fast
gates, where blockwise ACP can skip tiles for the whole batch. Ratios are against
dot_product_attention at the same T and pass, measured in this process; times are the best of
`--repeats` runs after a warm-up. Pass --methods to pick a subset (dpa is the ratio reference).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from nevis.learners.nn import fox, fox_decay, fox_pallas

ACP_EPSILON = math.exp(-10.0)


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--small", action="store_true", help="CPU-sized shapes (default without a GPU)")
  parser.add_argument("--lengths", type=int, nargs="+", help="sequence lengths T")
  parser.add_argument("--batch", type=int)
  parser.add_argument("--heads", type=int)
  parser.add_argument("--head-dim", type=int)
  parser.add_argument("--block-size", type=int, help="tile of the Pallas kernel and of ACP")
  parser.add_argument("--scan-block-size", type=int,
                      help="tile of the blockwise scan (larger on GPU: each step is a few kernel launches)")
  parser.add_argument("--dtype", choices=["bfloat16", "float32"])
  parser.add_argument("--repeats", type=int)
  parser.add_argument("--methods", nargs="+",
                      default=["dpa", "pallas", "pallas_acp", "fox_blockwise", "fox_acp", "fox_acp_fast",
                               "fox_plain"],
                      help="'pallas' and 'pallas_acp' stand for every --pallas-configs entry")
  parser.add_argument("--pallas-configs", nargs="+", default=["128:64:8:2", "128:32:4:2", "64:64:4:2"],
                      help="Pallas kernel tilings block:inner:warps:stages (GPU only)")
  parser.add_argument("--no-check", action="store_true", help="skip the GPU correctness check")
  parser.add_argument("--check-in-interpret-mode", action="store_true",
                      help="run the correctness check off a GPU, kernels interpreted, at the first length")
  args = parser.parse_args(argv)

  on_gpu = jax.default_backend() == "gpu"
  small = args.small or not on_gpu
  defaults = dict(lengths=[256, 512, 1024], batch=1, heads=4, head_dim=32, block_size=128,
                  scan_block_size=128, dtype="float32", repeats=3) \
      if small else dict(lengths=[2048, 8192, 16384], batch=2, heads=16, head_dim=128, block_size=128,
                         scan_block_size=512, dtype="bfloat16", repeats=10)
  for key, value in defaults.items():
    if getattr(args, key) is None:
      setattr(args, key, value)
  dtype = jnp.dtype(args.dtype)
  print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
  print(f"B={args.batch} H={args.heads} D={args.head_dim} dtype={args.dtype} block={args.block_size} "
        f"scan block={args.scan_block_size} repeats={args.repeats}")
  if args.check_in_interpret_mode:
    _check_kernels(args, args.lengths[0], args.heads, interpret=True)
  elif on_gpu and not args.no_check:
    try:
      _check_kernels(args, 2048, 4)
    except Exception as error:  # A kernel that fails to compile here: report it and still time the rest.
      print(f"check failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
  print(f"{'method':<24} {'T':>6} {'pass':<8} {'ms':>10} {'vs dpa':>8}  note")

  for length in args.lengths:
    q, k, v, d_out, log_f_mix, log_f_fast = _inputs(args.batch, length, args.heads, args.head_dim, dtype)
    methods = _methods(args, on_gpu, log_f_mix, log_f_fast)
    for name, log_f in (("fox_acp", log_f_mix), ("fox_acp_fast", log_f_fast)):
      fn, note = methods[name]
      methods[name] = (fn, f"{note}; {_acp_fraction(args, log_f, (q, k, v))}")
    reference: dict[str, float] = {}
    for name in _expand(args.methods, methods):
      forward, note = methods[name]
      for pass_name, fn in (("fwd", forward), ("fwd+bwd", _with_backward(forward, d_out))):
        try:
          ms = _time_ms(fn, (q, k, v), args.repeats)
        except Exception as error:  # Out of memory at long T for the materialised form, or no kernel here.
          print(f"{name:<24} {length:>6} {pass_name:<8} {'-':>10} {'-':>8}  {type(error).__name__}: "
                f"{str(error).splitlines()[0][:80]}")
          continue
        if name == "dpa":
          reference[pass_name] = ms
        ratio = f"{ms / reference[pass_name]:.2f}x" if pass_name in reference else "-"
        print(f"{name:<24} {length:>6} {pass_name:<8} {ms:>10.3f} {ratio:>8}  {note}")
    sys.stdout.flush()


def _inputs(batch, length, heads, head_dim, dtype):
  keys = jax.random.split(jax.random.key(0), 6)
  shape = (batch, length, heads, head_dim)
  q, k, v, d_out = (jax.random.normal(key, shape, jnp.float32).astype(dtype) for key in keys[:4])
  fast = 1.0 + 0.5 * jax.random.normal(keys[4], (batch, length, heads))
  slow = 6.0 + 0.5 * jax.random.normal(keys[5], (batch, length, heads))
  fast_heads = jnp.arange(heads) < heads // 2
  log_f_mix = fox.log_forget_gate(jnp.where(fast_heads, fast, slow))
  log_f_fast = fox.log_forget_gate(fast)
  return q, k, v, d_out, log_f_mix, log_f_fast


def _methods(args, on_gpu: bool, log_f_mix, log_f_fast) -> dict[str, tuple[Callable, str]]:
  dpa_impl = "cudnn" if on_gpu else "xla"

  def fox_fn(implementation, log_f, acp=None):
    block = args.scan_block_size if implementation == "blockwise" else args.block_size
    return lambda q, k, v: fox.forgetting_attention(q, k, v, log_f, acp_epsilon=acp,
                                                    implementation=implementation, block_size=block)

  methods = {
      "dpa": (lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation=dpa_impl),
              f"jax.nn.dot_product_attention({dpa_impl}), no forget gate"),
      "fox_blockwise": (fox_fn("blockwise", log_f_mix), "ours, blockwise scan + custom VJP"),
      "fox_acp": (fox_fn("blockwise", log_f_mix, ACP_EPSILON), "ours, blockwise, ACP eps=e^-10, anchor mix"),
      "fox_acp_fast": (fox_fn("blockwise", log_f_fast, ACP_EPSILON), "ours, blockwise, ACP, all heads fast"),
      "fox_plain": (fox_fn("plain", log_f_mix), "materialised T x T (naive)"),
  }
  if on_gpu:  # Off a GPU the kernels would only run in interpret mode: nothing to time.
    for text in args.pallas_configs:
      block, config = _pallas_config(text)
      methods[f"pallas[{text}]"] = (_pallas_fn(block, config, log_f_mix), "ours, Pallas kernels")
      methods[f"pallas_acp[{text}]"] = (_pallas_fn(block, config, log_f_mix, ACP_EPSILON),
                                        "ours, Pallas kernels, ACP eps=e^-10, anchor mix")
  return methods


def _expand(requested: list[str], methods: dict) -> list[str]:
  """Requested method names in order; 'pallas' and 'pallas_acp' stand for all their configurations."""
  names = []
  for name in requested:
    names += [m for m in methods if m == name or m.startswith(name + "[")]
  return names


def _pallas_config(text: str) -> tuple[int, fox_pallas.KernelConfig]:
  block, inner, warps, stages = (int(x) for x in text.split(":"))
  return block, fox_pallas.KernelConfig(inner_block=inner, num_warps=warps, num_stages=stages)


def _pallas_fn(block: int, config: fox_pallas.KernelConfig, log_f, acp=None, interpret: bool = False):
  """The kernels as `fox.forgetting_attention(implementation="pallas")` runs them, with a given tiling."""
  def attention(q, k, v):
    decay = fox_decay.block_decay(log_f, block)
    keep = None if acp is None else fox._keep_tiles(decay, fox.acp_threshold(q, k, acp), block)
    return fox_pallas.forgetting_attention_pallas(q, k, v, decay, keep, block_size=block, config=config,
                                                  interpret=interpret)
  return attention


def _check_kernels(args, length: int, heads: int, interpret: bool = False) -> None:
  """Largest |Pallas - blockwise| over outputs and gradients, relative to the blockwise values' scale."""
  for dtype in (jnp.bfloat16, jnp.float32):
    q, k, v, d_out, log_f_mix, _ = _inputs(1, length, heads, args.head_dim, dtype)
    for acp in (None, ACP_EPSILON):
      block, config = _pallas_config(args.pallas_configs[0])
      blockwise = lambda q, k, v: fox.forgetting_attention(q, k, v, log_f_mix, acp_epsilon=acp,
                                                           implementation="blockwise", block_size=block)
      pallas = _pallas_fn(block, config, log_f_mix, acp, interpret)
      errors = []
      for fn in (lambda f: f, lambda f: _with_backward(f, d_out)):
        want = jax.tree.leaves(jax.jit(fn(blockwise))(q, k, v))
        got = jax.tree.leaves(jax.jit(fn(pallas))(q, k, v))
        for w, g in zip(want, got):
          w, g = np.asarray(w, np.float32), np.asarray(g, np.float32)
          errors.append(float(np.abs(w - g).max() / max(np.abs(w).max(), 1e-30)))
      print(f"check {jnp.dtype(dtype).name:<8} acp={acp is not None!s:<5} config {args.pallas_configs[0]}: "
            f"max relative difference out {errors[0]:.1e}, d_q/d_k/d_v "
            f"{'/'.join(f'{e:.1e}' for e in errors[-3:])}")


def _with_backward(forward: Callable, d_out) -> Callable:
  def loss(q, k, v):
    return jnp.sum(forward(q, k, v).astype(jnp.float32) * d_out.astype(jnp.float32))
  return jax.grad(loss, argnums=(0, 1, 2))


def _time_ms(fn: Callable, args, repeats: int) -> float:
  compiled = jax.jit(fn)
  jax.block_until_ready(compiled(*args))  # compile and warm up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - start)
  return 1e3 * min(times)  # min, not median: other processes share the machine


def _acp_fraction(args, log_f, inputs) -> str:
  q, k, v = inputs
  _, stats = fox.forgetting_attention_with_stats(q, k, v, log_f, acp_epsilon=ACP_EPSILON,
                                                 block_size=args.scan_block_size, implementation="blockwise")
  return (f"pruned {int(stats.pruned_blocks)}/{int(stats.total_blocks)} (b, h) tiles, blockwise skipped "
          f"{int(stats.skipped_blocks)}")


if __name__ == "__main__":
  main()
