"""PEER throughput: tokens/s of a PEER layer and the achieved memory bandwidth of its expert gather,
against a dense MLP with the same number of active parameters (hidden width = heads * top_k).

    python benchmarks/peer.py            # GPU: d=256, N=1024^2 experts, 8 heads x 16, 16k tokens
    python benchmarks/peer.py --small    # CPU-sized (the default when no GPU is present)

'gather' times only the expert part (take the retrieved rows of both tables, mix them) with fixed
indices; its bandwidth counts the gathered rows once: tokens * heads * k * (d_in + d_out) * 4 bytes.
Times are the best of `--repeats` runs after a warm-up.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from nevis.learners.nn.blocks import Mlp
from nevis.learners.nn.peer import PEER, expert_usage


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--small", action="store_true", help="CPU-sized shapes (default without a GPU)")
  parser.add_argument("--d-model", type=int)
  parser.add_argument("--num-experts", type=int)
  parser.add_argument("--heads", type=int)
  parser.add_argument("--top-k", type=int)
  parser.add_argument("--tokens", type=int)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args(argv)
  small = args.small or jax.default_backend() != "gpu"
  defaults = dict(d_model=64, num_experts=256 ** 2, heads=8, top_k=16, tokens=1024) if small else \
      dict(d_model=256, num_experts=1024 ** 2, heads=8, top_k=16, tokens=16384)
  for key, value in defaults.items():
    if getattr(args, key) is None:
      setattr(args, key, value)

  d, n = args.d_model, args.tokens
  active = args.heads * args.top_k
  print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
  print(f"d={d} N={args.num_experts} heads={args.heads} top_k={args.top_k} tokens={n} "
        f"(active neurons {active}; dense MLP hidden {active})")
  x = jax.random.normal(jax.random.key(0), (n, d))
  layer = PEER(d, num_experts=args.num_experts, num_heads=args.heads, top_k=args.top_k, d_query=min(d, 128),
               rngs=nnx.Rngs(0))
  mlp = Mlp(d, active, "gelu", rngs=nnx.Rngs(1))
  indices, scores = jax.jit(lambda x: nnx.merge(*nnx.split(layer)).retrieve(x))(x)
  gates = jax.nn.softmax(scores, axis=-1)
  print(f"expert usage on these tokens: {float(expert_usage(indices, args.num_experts)):.3f}")

  print(f"{'what':<22} {'ms':>9} {'tokens/s':>12} {'GB/s':>8}")
  gathered_bytes = n * active * (d + d) * 4
  rows = [
      ("peer fwd", _forward(layer), None),
      ("peer fwd+bwd", _forward_backward(layer), None),
      ("peer gather fwd", _gather(layer, indices, gates), gathered_bytes),
      ("dense mlp fwd", _forward(mlp), None),
      ("dense mlp fwd+bwd", _forward_backward(mlp), None),
  ]
  times = {}
  for name, (fn, fn_args), n_bytes in rows:
    ms = _time_ms(fn, (*fn_args, x), args.repeats)
    times[name] = ms
    bandwidth = f"{n_bytes / ms / 1e6:8.2f}" if n_bytes else f"{'-':>8}"
    print(f"{name:<22} {ms:9.3f} {n / ms * 1e3:12.0f} {bandwidth}")
  print(f"peer / dense: fwd {times['peer fwd'] / times['dense mlp fwd']:.1f}x, "
        f"fwd+bwd {times['peer fwd+bwd'] / times['dense mlp fwd+bwd']:.1f}x")


def _forward(module: nnx.Module) -> tuple[Callable, tuple]:
  graphdef, state = nnx.split(module)
  return (lambda state, x: nnx.merge(graphdef, state)(x)), (state,)


def _forward_backward(module: nnx.Module) -> tuple[Callable, tuple]:
  graphdef, state = nnx.split(module)

  def loss(state, x):
    return jnp.mean(jnp.square(nnx.merge(graphdef, state)(x)))
  return jax.grad(loss), (state,)


def _gather(layer: PEER, indices, gates) -> tuple[Callable, tuple]:
  graphdef, state = nnx.split(layer)
  return (lambda state, indices, gates, x: nnx.merge(graphdef, state)._mix_experts(x, indices, gates)), \
      (state, indices, gates)


def _time_ms(fn: Callable, args, repeats: int) -> float:
  compiled = jax.jit(fn)
  jax.block_until_ready(compiled(*args))
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    best = min(best, time.perf_counter() - start)
  return 1e3 * best


if __name__ == "__main__":
  main()
