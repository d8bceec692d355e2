"""nevis.metrics.flops against FLOP counts derived by hand (2 FLOPs per multiply-add)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from nevis.metrics.errors import UncountedLoopError
from nevis.metrics.flops import count_flops, signature_key

NHWC = ("NHWC", "HWIO", "NHWC")


def matmul_flops(rows: int, inner: int, cols: int) -> float:
  return 2.0 * rows * inner * cols


def valid_taps(size: int, kernel: int, pad_low: int) -> int:
  """Kernel taps, summed over output positions of one stride-1 dimension, that land on real input.

  XLA does not count taps that fall on zero padding. For a 3-tap 'SAME' window this is 3*size - 2.
  """
  out_size = size + 2 * pad_low - kernel + 1
  return sum(1 for o in range(out_size) for t in range(kernel) if 0 <= o + t - pad_low < size)


def conv_flops(n: int, h: int, w: int, c_in: int, c_out: int, kernel: int, pad: int) -> float:
  return 2.0 * n * c_in * c_out * valid_taps(h, kernel, pad) * valid_taps(w, kernel, pad)


def conv(x, kernel):
  return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=NHWC)


def test_valid_taps_helper_matches_closed_form():
  assert valid_taps(8, 3, 1) == 3 * 8 - 2
  assert valid_taps(8, 3, 0) == 3 * 6


# -- 1. dense layer --------------------------------------------------------------------------------


def test_dense_layer_forward():
  batch, d_in, d_out = 32, 64, 16
  x, weight, bias = jnp.ones((batch, d_in)), jnp.ones((d_in, d_out)), jnp.ones((d_out,))
  expected = matmul_flops(batch, d_in, d_out) + batch * d_out  # matmul + bias add
  assert count_flops(lambda x, w, b: x @ w + b, (x, weight, bias)) == pytest.approx(expected, rel=0.02)


def test_shape_dtype_structs_count_like_arrays():
  x, weight = jnp.ones((32, 64)), jnp.ones((64, 16))
  specs = (jax.ShapeDtypeStruct(x.shape, x.dtype), jax.ShapeDtypeStruct(weight.shape, weight.dtype))
  assert count_flops(jnp.matmul, specs) == count_flops(jnp.matmul, (x, weight)) == matmul_flops(32, 64, 16)


# -- 2. convolution -------------------------------------------------------------------------------


@pytest.mark.parametrize("padding,pad", [("VALID", 0), ("SAME", 1)])
def test_conv2d_forward(padding, pad):
  n, h, w, c_in, c_out = 2, 12, 10, 8, 16
  x, kernel = jnp.ones((n, h, w, c_in)), jnp.ones((3, 3, c_in, c_out))
  fn = lambda x, k: lax.conv_general_dilated(x, k, (1, 1), padding, dimension_numbers=NHWC)
  expected = conv_flops(n, h, w, c_in, c_out, 3, pad)
  assert count_flops(fn, (x, kernel)) == pytest.approx(expected, rel=0.02)


# -- 3. ResNet basic block training step ----------------------------------------------------------
# conv3x3 -> relu -> conv3x3 -> +x -> relu -> global average pool -> dense head -> softmax
# cross-entropy, gradient for all parameters, plain SGD update. No batch norm: its ~10 elementwise
# FLOPs per activation would be counted by XLA but are left out of the analytic count below, which
# holds only the convolutions, the head matmuls and the update; with 32 channels each conv pass
# costs ~500 FLOPs per activation, so the elementwise rest (relu, residual add, their gradients)
# stays well under 2%.

N, H, W, C, CLASSES = 4, 8, 8, 32, 10


def block_params():
  keys = jax.random.split(jax.random.key(0), 3)
  return {
    "conv1": jax.random.normal(keys[0], (3, 3, C, C)) * 0.1,
    "conv2": jax.random.normal(keys[1], (3, 3, C, C)) * 0.1,
    "head_w": jax.random.normal(keys[2], (C, CLASSES)) * 0.1,
    "head_b": jnp.zeros((CLASSES,)),
  }


def block_loss(params, images, labels):
  hidden = jax.nn.relu(conv(images, params["conv1"]))
  features = jax.nn.relu(conv(hidden, params["conv2"]) + images)
  logits = features.mean(axis=(1, 2)) @ params["head_w"] + params["head_b"]
  log_probs = jax.nn.log_softmax(logits)
  return -jnp.take_along_axis(log_probs, labels[:, None], axis=1).mean()


def block_train_step(params, images, labels):
  loss, grads = jax.value_and_grad(block_loss)(params, images, labels)
  return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads), loss


def block_step_analytic_flops(input_gradient: bool) -> float:
  one_conv = conv_flops(N, H, W, C, C, 3, 1)
  # Forward: conv1, conv2. Backward: conv2's input gradient (to reach conv1) and weight gradient,
  # conv1's weight gradient; each is one convolution with the same count of real taps as the
  # forward one. conv1's input gradient is pruned by JAX because the images are not differentiated
  # (ecosystem.md §3.2), so the usual "3x forward" rule would overstate this step by 1/6.
  convs = (5 + (1 if input_gradient else 0)) * one_conv
  # Head: forward matmul + bias, then weight gradient and feature gradient (both matmuls).
  head = 3 * matmul_flops(N, C, CLASSES) + N * CLASSES
  # SGD: one multiply and one subtract per parameter.
  n_params = 2 * 9 * C * C + C * CLASSES + CLASSES
  return convs + head + 2 * n_params


def test_resnet_block_training_step():
  params, images, labels = block_params(), jnp.ones((N, H, W, C)), jnp.zeros((N,), jnp.int32)
  counted = count_flops(block_train_step, (params, images, labels))
  expected = block_step_analytic_flops(input_gradient=False)
  assert expected <= counted <= 1.02 * expected


def test_resnet_block_input_gradient_adds_one_convolution():
  params, images, labels = block_params(), jnp.ones((N, H, W, C)), jnp.zeros((N,), jnp.int32)
  both_grads = lambda p, x, y: jax.grad(block_loss, argnums=(0, 1))(p, x, y)
  params_grad = lambda p, x, y: jax.grad(block_loss)(p, x, y)
  args = (params, images, labels)
  extra = count_flops(both_grads, args) - count_flops(params_grad, args)
  # One more convolution, plus a few elementwise FLOPs per image element (the residual branch).
  assert extra == pytest.approx(conv_flops(N, H, W, C, C, 3, 1), rel=0.02)


# -- 4. loops -------------------------------------------------------------------------------------

B, D = 8, 32
X, WEIGHT = jnp.ones((B, D)), jnp.ones((D, D))
ONE_MATMUL = matmul_flops(B, D, D)


def scan_of_matmuls(x, weight, length=10, unroll=1):
  return lax.scan(lambda carry, _: (carry @ weight, None), x, None, length=length, unroll=unroll)[0]


@pytest.mark.parametrize("unroll", [1, 3, True])
def test_scan_counts_every_step(unroll):
  counted = count_flops(lambda x, w: scan_of_matmuls(x, w, unroll=unroll), (X, WEIGHT))
  assert counted == pytest.approx(10 * ONE_MATMUL, rel=0.02)


def test_nested_scan_multiplies_trip_counts():
  def nested(x, weight):
    inner = lambda carry, _: (scan_of_matmuls(carry, weight, length=3), None)
    return lax.scan(inner, x, None, length=5)[0]

  assert count_flops(nested, (X, WEIGHT)) == pytest.approx(15 * ONE_MATMUL, rel=0.02)


def test_fori_loop_with_static_bounds():
  fn = lambda x, w: lax.fori_loop(0, 10, lambda i, carry: carry @ w, x)
  assert count_flops(fn, (X, WEIGHT)) == pytest.approx(10 * ONE_MATMUL, rel=0.02)


def test_fori_loop_with_constant_array_bounds_lowers_to_while_and_is_counted():
  fn = lambda x, w: lax.fori_loop(jnp.int32(3), jnp.int32(10), lambda i, carry: carry @ w, x)
  assert any(e.primitive.name == "while" for e in jax.make_jaxpr(fn)(X, WEIGHT).jaxpr.eqns)
  assert count_flops(fn, (X, WEIGHT)) == pytest.approx(7 * ONE_MATMUL, rel=0.02)


def test_static_trip_count_argument():
  fn = lambda x, w, steps: lax.fori_loop(0, steps, lambda i, carry: carry @ w, x)
  assert count_flops(fn, (X, WEIGHT, 4), static_argnums=2) == pytest.approx(4 * ONE_MATMUL, rel=0.02)
  by_name = count_flops(fn, (X, WEIGHT), {"steps": 6}, static_argnames="steps")
  assert by_name == pytest.approx(6 * ONE_MATMUL, rel=0.02)


def test_scan_inside_grad_counts_forward_and_backward_scans():
  loss = lambda w, x: scan_of_matmuls(x, w).sum()
  # Per step: forward matmul; backward carry gradient g @ W^T and weight gradient c^T @ g
  # (2 matmuls), plus the D*D additions accumulating the weight gradient across steps. The carry
  # gradient is computed at every step, the first included, since a scan body is uniform.
  expected = 10 * (3 * ONE_MATMUL + D * D)
  assert count_flops(jax.grad(loss), (WEIGHT, X)) == pytest.approx(expected, rel=0.02)


def test_scan_inside_inner_jit_and_checkpoint():
  inner = jax.jit(scan_of_matmuls)
  assert count_flops(lambda x, w: inner(x, w), (X, WEIGHT)) == pytest.approx(10 * ONE_MATMUL, rel=0.02)
  remat = jax.checkpoint(scan_of_matmuls)
  assert count_flops(remat, (X, WEIGHT)) == pytest.approx(10 * ONE_MATMUL, rel=0.02)


def test_zero_length_scan_counts_nothing():
  assert count_flops(lambda x, w: scan_of_matmuls(x, w, length=0), (X, WEIGHT)) == 0


def test_cond_is_charged_its_most_expensive_branch():
  def step(carry, _):
    return lax.cond(carry[0, 0] > 0, lambda c: c @ WEIGHT @ WEIGHT, lambda c: c @ WEIGHT, carry), None

  counted = count_flops(lambda x: lax.scan(step, x, None, length=10)[0], (X,))
  assert counted == pytest.approx(10 * 2 * ONE_MATMUL, rel=0.02)


def test_scan_inside_cond_branch_is_multiplied():
  fn = lambda pred, x, w: lax.cond(pred, lambda c: scan_of_matmuls(c, w), lambda c: c @ w, x)
  assert count_flops(fn, (True, X, WEIGHT)) == pytest.approx(10 * ONE_MATMUL, rel=0.02)



def test_platform_dependent_is_charged_its_cpu_branch_even_when_cheaper():
  # The CPU lowering keeps only the CPU branch; another platform's branch (here a dynamic while_loop,
  # which the meter would refuse) is neither counted nor refused.
  gpu_only = lambda x, w: lax.while_loop(lambda c: c.sum() < 1e6, lambda c: c @ w, x)
  fn = lambda x, w: lax.platform_dependent(x, w, cpu=lambda c, w: scan_of_matmuls(c, w, length=3),
                                           cuda=gpu_only)
  assert count_flops(fn, (X, WEIGHT)) == pytest.approx(3 * ONE_MATMUL, rel=0.02)
  by_default = lambda x, w: lax.platform_dependent(x, w, cuda=lambda c, w: c @ w,
                                                   default=lambda c, w: scan_of_matmuls(c, w, length=4))
  assert count_flops(jax.grad(lambda w, x: by_default(x, w).sum()), (WEIGHT, X)) == pytest.approx(
      4 * (3 * ONE_MATMUL + D * D), rel=0.02)

# -- 5. loops that cannot be counted --------------------------------------------------------------


def test_while_loop_with_dynamic_trip_count_raises():
  def until_large(x):
    return lax.while_loop(lambda c: c.sum() < 1e6, lambda c: c @ WEIGHT, x)

  with pytest.raises(UncountedLoopError, match="use lax.scan or lax.fori_loop with static"):
    count_flops(until_large, (X,))


def test_fori_loop_with_traced_bound_raises_even_inside_scan():
  def fn(x, steps):
    body = lambda carry, _: (lax.fori_loop(0, steps, lambda i, c: c @ WEIGHT, carry), None)
    return lax.scan(body, x, None, length=2)[0]

  with pytest.raises(UncountedLoopError) as raised:
    count_flops(fn, (X, 3))
  assert "\n" not in str(raised.value)


# -- signature_key --------------------------------------------------------------------------------


def test_signature_key_ignores_values_but_not_shapes_dtypes_or_statics():
  key = lambda *args, **kw: signature_key(args, kw, static_argnums=(2,), static_argnames=("mode",))
  base = key(jnp.ones((2, 3)), {"w": np.zeros(4)}, 5, lr=0.1, mode="train")
  assert base == key(jnp.zeros((2, 3)), {"w": np.ones(4)}, 5, lr=0.7, mode="train")
  assert hash(base) == hash(key(jnp.zeros((2, 3)), {"w": np.ones(4)}, 5, lr=0.7, mode="train"))
  assert base != key(jnp.ones((2, 4)), {"w": np.zeros(4)}, 5, lr=0.1, mode="train")  # shape
  assert base != key(jnp.ones((2, 3), jnp.bfloat16), {"w": np.zeros(4)}, 5, lr=0.1, mode="train")  # dtype
  assert base != key(jnp.ones((2, 3)), {"v": np.zeros(4)}, 5, lr=0.1, mode="train")  # tree structure
  assert base != key(jnp.ones((2, 3)), {"w": np.zeros(4)}, 6, lr=0.1, mode="train")  # static position
  assert base != key(jnp.ones((2, 3)), {"w": np.zeros(4)}, 5, lr=0.1, mode="eval")  # static name
  assert base != key(jnp.ones((2, 3)), {"w": np.zeros(4)}, 5, lr=1, mode="train")  # scalar type


def test_signature_key_treats_shape_dtype_structs_like_arrays():
  array = signature_key((jnp.ones((2, 3)),), {})
  assert array == signature_key((jax.ShapeDtypeStruct((2, 3), jnp.float32),), {})
