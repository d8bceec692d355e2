"""ResNet backbones in Flax NNX with config-set width and depth: NEVIS's `CifarResNet` and haiku's ResNet.

Stem `cifar` (dm_nevis `CifarResNet18/34`): a 3x3 stride-1 convolution, no max-pool. Stem `imagenet`
(dm_nevis `ResNet18`, haiku's ImageNet ResNet v1): a 7x7 stride-2 convolution then a 3x3 stride-2 max-pool
("SAME" padding), which cuts every later activation 16-fold (ResNet-18 at 64 px: about 15x fewer FLOPs per
image than the CIFAR stem). Then stages of BasicBlocks with `width * 2**i` channels, stride 2 at the start
of every stage but the first, a 1x1 projection where the shape changes (haiku's use_projection
(False, True, True, True)), BatchNorm (momentum 0.9, eps 1e-5 as NEVIS) and a global average pool.
`ResNet(...)(images, train=...)` returns features (B, feature_dim), always float32. `dtype` is the compute dtype
of the convolutions and activations (bfloat16 for mixed precision); parameters and BatchNorm statistics stay
float32 whatever it is, so checkpoints do not depend on it.

Blocks are attributes named `stage{i}_block{j}` rather than list items so that `nnx.to_pure_dict` gives
string keys only: learner state then survives any checkpoint format unchanged.

On CPU the CIFAR stem of a grey or colour image is computed as a sum of its 9 x C shifted, scaled copies
(`tap_convolution`), one elementwise loop, rather than by XLA:CPU's convolution: with 3 input channels that
convolution is the slowest of the network against PyTorch's (`benchmarks/conv_kernels.py`: 0.45 ms against
0.09 ms forward at batch 16, 32 px, 2 cores; jaxlib 0.10.2), and the taps take 0.17 ms. Same parameters,
same FLOP count, the same function up to float32 rounding; the gradients are the convolution's.
"""
from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from nevis.learners import cpu_convolutions

_BN_MOMENTUM = 0.9
_BN_EPSILON = 1e-5
STEMS = ("cifar", "imagenet")
# Grey, RGB, RGBA. Forward of a 3x3 stem to 16 channels at batch 16, 32 px, 2 cores (taps vs XLA's convolution):
# 1 channel 0.06 vs 0.45 ms, 3: 0.18 vs 0.49, 4: 0.38 vs 0.62, 6: 0.61 vs 0.70, 8: 0.95 vs 0.45.
_TAP_MAX_CHANNELS = 4


@jax.custom_vjp
def tap_convolution(images: jax.Array, kernel: jax.Array) -> jax.Array:
  """A stride-1 "SAME" convolution, (B, H, W, C) x (k, k, C, F) -> (B, H, W, F), as a sum of k*k*C products
  of a shifted input channel and a kernel row: one fused loop, for inputs with few channels (see above)."""
  kh, kw, channels, _ = kernel.shape
  _, height, width, _ = images.shape
  padded = jnp.pad(images, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))  # XLA's SAME
  out = None
  for i in range(kh):
    for j in range(kw):
      for c in range(channels):
        term = padded[:, i:i + height, j:j + width, c:c + 1] * kernel[i, j, c]
        out = term if out is None else out + term
  return out


def stem_uses_taps(input_channels: int) -> bool:
  """Whether the CIFAR stem of inputs with this many channels is `tap_convolution` on this backend."""
  return input_channels <= _TAP_MAX_CHANNELS and jax.default_backend() == "cpu"


def _convolution(images: jax.Array, kernel: jax.Array) -> jax.Array:
  return jax.lax.conv_general_dilated(images, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _tap_forward(images, kernel):
  return tap_convolution(images, kernel), (images, kernel)


def _tap_backward(residuals, cotangent):
  # The convolution's own gradients: XLA's kernels for them are not the slow part, and summed taps
  # would differentiate into k*k*C reductions.
  return jax.vjp(_convolution, *residuals)[1](cotangent)


tap_convolution.defvjp(_tap_forward, _tap_backward)


def _conv_factory(dtype, convolutions: str, rngs: nnx.Rngs):
  """`nnx.Conv` without bias, in `dtype`, its convolutions by the kernels `convolutions` chooses on CPU."""
  hook = cpu_convolutions.conv_general_dilated(convolutions)

  def conv(in_channels: int, out_channels: int, kernel_size, strides: int = 1) -> nnx.Conv:
    return nnx.Conv(in_channels, out_channels, kernel_size, strides=strides, use_bias=False, dtype=dtype,
                    conv_general_dilated=hook, rngs=rngs)

  return conv


def _batch_norm(num_features: int, dtype, rngs: nnx.Rngs) -> nnx.BatchNorm:
  # Flax computes the batch statistics (and keeps the running ones) in float32 whatever `dtype` is.
  return nnx.BatchNorm(num_features, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, dtype=dtype, rngs=rngs)


class BasicBlock(nnx.Module):
  """Two 3x3 convolutions with a residual connection (He et al. 2016)."""

  def __init__(self, in_channels: int, out_channels: int, stride: int, *, dtype=jnp.float32, convolutions: str = "xla",
               rngs: nnx.Rngs):
    conv = _conv_factory(dtype, convolutions, rngs)
    self.conv1 = conv(in_channels, out_channels, (3, 3), strides=stride)
    self.bn1 = _batch_norm(out_channels, dtype, rngs)
    self.conv2 = conv(out_channels, out_channels, (3, 3))
    self.bn2 = _batch_norm(out_channels, dtype, rngs)
    if stride != 1 or in_channels != out_channels:
      self.projection = conv(in_channels, out_channels, (1, 1), strides=stride)
      self.projection_bn = _batch_norm(out_channels, dtype, rngs)
    else:
      self.projection = None
      self.projection_bn = None

  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    frozen = not train
    y = jax.nn.relu(self.bn1(self.conv1(x), use_running_average=frozen))
    y = self.bn2(self.conv2(y), use_running_average=frozen)
    shortcut = x
    if self.projection is not None:
      shortcut = self.projection_bn(self.projection(x), use_running_average=frozen)
    return jax.nn.relu(y + shortcut)


class ResNet(nnx.Module):
  """Backbone: images (B, H, W, C) in [-1, 1] -> pooled features (B, width * 2**(num_stages - 1))."""

  def __init__(
      self,
      *,
      width: int,
      blocks_per_stage: Sequence[int],
      input_channels: int = 3,
      stem: str = "cifar",
      dtype=jnp.float32,
      convolutions: str = "xla",
      rngs: nnx.Rngs,
  ):
    if width < 1 or not blocks_per_stage or any(b < 1 for b in blocks_per_stage):
      raise ValueError(f"need width >= 1 and blocks_per_stage all >= 1; got {width}, {blocks_per_stage}")
    if stem not in STEMS:
      raise ValueError(f"stem must be one of {STEMS}; got {stem!r}")
    self.pooled_stem = stem == "imagenet"
    if convolutions not in cpu_convolutions.MODES:
      raise ValueError(f"convolutions must be one of {cpu_convolutions.MODES}; got {convolutions!r}")
    self.dtype = jnp.dtype(dtype)
    self.convolutions = convolutions
    conv = _conv_factory(dtype, convolutions, rngs)
    if self.pooled_stem:
      self.stem = conv(input_channels, width, (7, 7), strides=2)
    else:
      self.stem = conv(input_channels, width, (3, 3))
    self.stem_bn = _batch_norm(width, dtype, rngs)
    names = []
    in_channels = width
    for stage, num_blocks in enumerate(blocks_per_stage):
      out_channels = width * 2**stage
      for block in range(num_blocks):
        stride = 2 if stage > 0 and block == 0 else 1
        name = f"stage{stage}_block{block}"
        setattr(self, name, BasicBlock(in_channels, out_channels, stride, dtype=dtype, convolutions=convolutions,
                                       rngs=rngs))
        names.append(name)
        in_channels = out_channels
    self.block_names = tuple(names)
    self.feature_dim = in_channels

  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    # Taps with oneDNN's convolutions too (whose stem would be faster still): a run's FLOP count must not depend
    # on which kernels it found, and the taps count the multiplications by the zero padding, a convolution not.
    if not self.pooled_stem and stem_uses_taps(images.shape[-1]):
      x = tap_convolution(images.astype(self.dtype), self.stem.kernel[...].astype(self.dtype))
    else:
      x = self.stem(images)
    x = jax.nn.relu(self.stem_bn(x, use_running_average=not train))
    if self.pooled_stem:
      x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    for name in self.block_names:
      x = getattr(self, name)(x, train=train)
    return jnp.mean(x.astype(jnp.float32), axis=(1, 2))  # the head and the loss always see float32


def feature_dim(width: int, blocks_per_stage: Sequence[int]) -> int:
  return width * 2 ** (len(blocks_per_stage) - 1)
