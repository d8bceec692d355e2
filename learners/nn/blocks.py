"""Pre-norm residual blocks with a selectable token mixer and MLP, assembled into a causal sequence model
over embeddings and a small ViT-style image encoder; both built from config dataclasses (or plain dicts, as
read from YAML). Bad options raise ValueError: the layers know no harness, the learners translate.

    block:  x += mixer(norm(x));  x += mlp(norm(x))
    mixer:  'softmax' (plain attention; causal unless `causal: false`), 'fox' (Forgetting Attention),
            'fox_pro' (FoX with KV shift, QK-norm, output norm and gate), 'lru' (Griffin RG-LRU block)
    mlp:    'dense' (gelu or swiglu) or 'peer' (every `peer_every`-th block; the others stay dense), with a
            per-token query norm: PEER's 'batchnorm' is refused, as its batch statistics mix tokens and rows
            (later tokens would reach earlier outputs) and these models have no train/eval switch

Sub-dicts `attention`, `lru` and `peer` are passed as keyword arguments to `ForgettingAttentionLayer`,
`RecurrentBlock` and `PEER`, e.g. {mixer: fox_pro, attention: {acp_epsilon: 4.5e-5}, mlp: peer,
peer: {num_experts: 16384, num_heads: 4, top_k: 8}}.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from nevis.learners.nn.fox_layer import PRO_OPTIONS, ForgettingAttentionLayer
from nevis.learners.nn.lru import RecurrentBlock
from nevis.learners.nn.peer import PEER, PER_TOKEN_QUERY_NORMS

MIXERS = ("softmax", "fox", "fox_pro", "lru")
MLPS = ("dense", "peer")
MLP_ACTIVATIONS = ("gelu", "swiglu")
NORMS = ("rmsnorm", "layernorm")
POOLS = ("mean", "cls")
POSITION_EMBEDDINGS = ("learned", "none")


def _field(default, doc: str, **kwargs):
  """A config field with its one-line doc (read by `nevis.options`, which these layers do not import)."""
  return dataclasses.field(default=default, metadata={"doc": doc, **kwargs})


def _free_form(doc: str):
  return dataclasses.field(default_factory=dict, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class BodyConfig:
  """The stack of blocks shared by both models."""
  d_model: int = _field(128, "width of every token", minimum=1)
  num_layers: int = _field(2, "number of blocks", minimum=1)
  num_heads: int = _field(4, "attention heads (lru: blocks of the recurrence)", minimum=1)
  mixer: str = _field("fox", "token mixer", choices=MIXERS)
  mlp: str = _field("dense", "channel mixer: dense MLP, or PEER experts every `peer_every`-th block", choices=MLPS)
  mlp_ratio: float = _field(4.0, "hidden width of the dense MLP, in multiples of d_model")
  mlp_activation: str = _field("gelu", "dense MLP activation (swiglu keeps gelu's parameter count)",
                               choices=MLP_ACTIVATIONS)
  norm: str = _field("rmsnorm", "the blocks' pre-norm", choices=NORMS)
  causal: bool = _field(True, "whether a token sees only earlier ones (false needs mixer softmax)")
  peer_every: int = _field(1, "with mlp peer: every this many blocks use PEER, the others dense", minimum=1)
  attention: dict[str, Any] = _free_form("keyword arguments of ForgettingAttentionLayer (softmax, fox, fox_pro)")
  lru: dict[str, Any] = _free_form("keyword arguments of RecurrentBlock (mixer lru)")
  peer: dict[str, Any] = _free_form("keyword arguments of PEER (mlp peer)")

  def __post_init__(self):
    _check_choice("mixer", self.mixer, MIXERS)
    _check_choice("mlp", self.mlp, MLPS)
    _check_choice("mlp_activation", self.mlp_activation, MLP_ACTIVATIONS)
    _check_choice("norm", self.norm, NORMS)
    if not self.causal and self.mixer != "softmax":
      raise ValueError(f"mixer {self.mixer!r} is causal by construction; causal: false needs 'softmax'")
    query_norm = dict(self.peer).get("query_norm", "layernorm")
    if self.mlp == "peer" and query_norm == "batchnorm":
      raise ValueError("peer query_norm 'batchnorm' normalises over all tokens of the batch, so outputs would "
                       "see later tokens and other rows, and this model has no train/eval mode for running "
                       f"statistics; use a per-token norm: one of {PER_TOKEN_QUERY_NORMS}")
    for name in ("d_model", "num_layers", "num_heads", "peer_every"):
      if int(getattr(self, name)) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class SequenceModelConfig(BodyConfig):
  """Causal model over (B, T, d_input) embeddings -> (B, T, d_output); inputs/outputs default to d_model."""
  d_input: int | None = _field(None, "width of the input embeddings; null: d_model", minimum=1)
  d_output: int | None = _field(None, "width of the outputs; null: d_model", minimum=1)


@dataclasses.dataclass(frozen=True)
class VitEncoderConfig(BodyConfig):
  """Images (B, H, W, C) float -> features (B, d_model). Non-causal only with mixer 'softmax'."""
  image_size: int | tuple[int, int] = _field(32, "side of the input images (or [height, width])", minimum=1)
  patch_size: int = _field(4, "side of the square patches, one token each", minimum=1)
  in_channels: int = _field(3, "channels of the input images", minimum=1)
  pool: str = _field("mean", "features: the mean over patch tokens, or a CLS token", choices=POOLS)
  position_embedding: str = _field("learned", "learned position embeddings, or none", choices=POSITION_EMBEDDINGS)
  causal: bool = _field(False, "whether a token sees only earlier ones (causal mixers always do)")

  def __post_init__(self):
    if self.mixer != "softmax" and not self.causal:
      object.__setattr__(self, "causal", True)  # causal mixers: the CLS token goes last to see all patches.
    super().__post_init__()
    _check_choice("pool", self.pool, POOLS)
    _check_choice("position_embedding", self.position_embedding, POSITION_EMBEDDINGS)
    height, width = _pair(self.image_size)
    if height % self.patch_size or width % self.patch_size:
      raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")


def config_from_dict(cls: type, config: Mapping[str, Any]) -> Any:
  """Builds a config dataclass, naming unknown keys."""
  fields = {f.name for f in dataclasses.fields(cls)}
  for key in config:
    if key not in fields:
      raise ValueError(f"unknown {cls.__name__} key {key!r}{_closest(key, fields)}")
  values = dict(config)
  if isinstance(values.get("image_size"), list):
    values["image_size"] = tuple(values["image_size"])
  return cls(**values)


def build_sequence_model(config: Mapping[str, Any] | SequenceModelConfig, rngs: nnx.Rngs) -> SequenceModel:
  if not isinstance(config, SequenceModelConfig):
    config = config_from_dict(SequenceModelConfig, config)
  return SequenceModel(config, rngs=rngs)


def build_vit_encoder(config: Mapping[str, Any] | VitEncoderConfig, rngs: nnx.Rngs) -> VitEncoder:
  if not isinstance(config, VitEncoderConfig):
    config = config_from_dict(VitEncoderConfig, config)
  return VitEncoder(config, rngs=rngs)


class Mlp(nnx.Module):
  """Dense MLP, (..., d) -> (..., d): gelu (W2 gelu(W1 x)) or swiglu (W2 (silu(W1 x) * W3 x))."""

  def __init__(self, d_model: int, hidden: int, activation: str, *, rngs: nnx.Rngs):
    self.activation = activation
    self.up = nnx.Linear(d_model, hidden, rngs=rngs)
    self.gate = nnx.Linear(d_model, hidden, rngs=rngs) if activation == "swiglu" else None
    self.down = nnx.Linear(hidden, d_model, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    if self.gate is None:
      return self.down(jax.nn.gelu(self.up(x)))
    return self.down(jax.nn.silu(self.gate(x)) * self.up(x))


class Block(nnx.Module):
  """x += mixer(norm(x)); x += mlp(norm(x))."""

  def __init__(self, config: BodyConfig, use_peer: bool, *, rngs: nnx.Rngs):
    d = config.d_model
    self.mixer_kind = config.mixer
    self.mixer_norm = _norm(config.norm, d, rngs)
    self.mlp_norm = _norm(config.norm, d, rngs)
    self.mixer = _token_mixer(config, rngs)
    if use_peer:
      self.mlp = _construct(PEER, "peer", d, rngs=rngs, **dict(config.peer))
    else:
      self.mlp = Mlp(d, _mlp_width(config), config.mlp_activation, rngs=rngs)

  def __call__(self, x: jax.Array, reset: jax.Array | None = None) -> jax.Array:
    normed = self.mixer_norm(x)
    x = x + (self.mixer(normed, reset) if self.mixer_kind == "lru" else self.mixer(normed))
    return x + self.mlp(self.mlp_norm(x))


  def extend(self, x: jax.Array, cache: dict | None) -> tuple[jax.Array, dict]:
    y, cache = self.mixer.extend(self.mixer_norm(x), cache)
    x = x + y
    return x + self.mlp(self.mlp_norm(x)), cache


class Body(nnx.Module):
  """`num_layers` blocks and a final norm."""

  def __init__(self, config: BodyConfig, *, rngs: nnx.Rngs):
    self.mixer_kind = config.mixer
    use_peer = [config.mlp == "peer" and (i + 1) % config.peer_every == 0 for i in range(config.num_layers)]
    self.blocks = nnx.List([Block(config, peer, rngs=rngs) for peer in use_peer])
    self.final_norm = _norm(config.norm, config.d_model, rngs)

  def __call__(self, x: jax.Array, reset: jax.Array | None = None) -> jax.Array:
    if reset is not None and self.mixer_kind != "lru":
      raise ValueError("reset masks are only supported by the 'lru' mixer; put sequences in separate rows")
    for block in self.blocks:
      x = block(x, reset)
    return self.final_norm(x)

  def extend(self, x: jax.Array, cache: list | None) -> tuple[jax.Array, list]:
    caches = []
    for i, block in enumerate(self.blocks):
      x, block_cache = block.extend(x, None if cache is None else cache[i])
      caches.append(block_cache)
    return self.final_norm(x), caches


class SequenceModel(nnx.Module):
  """Causal sequence model: (B, T, d_input) embeddings -> (B, T, d_output). Output t sees inputs <= t."""

  def __init__(self, config: SequenceModelConfig, *, rngs: nnx.Rngs):
    self.config = config
    d = config.d_model
    self.input_proj = nnx.Linear(config.d_input, d, rngs=rngs) if config.d_input not in (None, d) else None
    self.body = Body(config, rngs=rngs)
    self.output_proj = nnx.Linear(d, config.d_output, rngs=rngs) if config.d_output not in (None, d) else None

  @property
  def d_input(self) -> int:
    return self.config.d_input or self.config.d_model

  @property
  def d_output(self) -> int:
    return self.config.d_output or self.config.d_model

  def __call__(self, x: jax.Array, reset: jax.Array | None = None) -> jax.Array:
    """`reset` ((B, T) bool, 'lru' only): True where a new sequence starts inside a row."""
    if x.ndim != 3 or x.shape[-1] != self.d_input:
      raise ValueError(f"expected (batch, time, {self.d_input}) embeddings, got shape {x.shape}")
    if self.input_proj is not None:
      x = self.input_proj(x)
    x = self.body(x, reset)
    return self.output_proj(x) if self.output_proj is not None else x

  def extend(self, x: jax.Array, cache: list | None = None) -> tuple[jax.Array, list]:
    """Runs x after a cached prefix: `extend(b, extend(a)[1])[0] == model(concat(a, b))[:, len(a):]`.

    Returns (outputs for x, cache of prefix + x); the cache is a pytree (a list of per-block dicts), so it
    can be passed through jit. Attention caches keep keys/values of every position (no ACP, materialised
    over the prefix); LRU caches keep the last state. Each new total length compiles anew under jit.
    """
    if x.ndim != 3 or x.shape[-1] != self.d_input:
      raise ValueError(f"expected (batch, time, {self.d_input}) embeddings, got shape {x.shape}")
    if self.input_proj is not None:
      x = self.input_proj(x)
    x, cache = self.body.extend(x, cache)
    return (self.output_proj(x) if self.output_proj is not None else x), cache


class VitEncoder(nnx.Module):
  """Patchify, embed, add positions, append a CLS token (last, so causal mixers let it see every patch),
  run the blocks, pool ('cls' or mean over patches) -> (B, d_model)."""

  def __init__(self, config: VitEncoderConfig, *, rngs: nnx.Rngs):
    self.config = config
    height, width = _pair(config.image_size)
    self.grid = (height // config.patch_size, width // config.patch_size)
    num_patches = self.grid[0] * self.grid[1]
    d = config.d_model
    self.patch_embed = nnx.Linear(config.patch_size ** 2 * config.in_channels, d, rngs=rngs)
    self.position = nnx.Param(jax.random.normal(rngs.params(), (num_patches, d)) * 0.02) \
        if config.position_embedding == "learned" else None
    # Not zeros: a zero token stays zero through RMSNorm and a gated LRU block, so it would pool nothing.
    self.cls_token = nnx.Param(jax.random.normal(rngs.params(), (1, d)) * 0.02) \
        if config.pool == "cls" else None
    self.body = Body(config, rngs=rngs)

  @property
  def features_dim(self) -> int:
    return self.config.d_model

  def __call__(self, images: jax.Array) -> jax.Array:
    tokens = self.patch_embed(patchify(images, self.config.patch_size))
    if self.position is not None:
      tokens = tokens + self.position[...]
    if self.cls_token is not None:
      cls = jnp.broadcast_to(self.cls_token[...], (tokens.shape[0], 1, tokens.shape[-1]))
      tokens = jnp.concatenate([tokens, cls.astype(tokens.dtype)], axis=1)
    out = self.body(tokens)
    return out[:, -1] if self.cls_token is not None else jnp.mean(out, axis=1)


def patchify(images: jax.Array, patch_size: int) -> jax.Array:
  """(B, H, W, C) -> (B, H/p * W/p, p * p * C), patches in raster order."""
  batch, height, width, channels = images.shape
  p = patch_size
  x = images.reshape(batch, height // p, p, width // p, p, channels)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
  return x.reshape(batch, (height // p) * (width // p), p * p * channels)


def _token_mixer(config: BodyConfig, rngs: nnx.Rngs) -> nnx.Module:
  d, heads = config.d_model, config.num_heads
  if config.mixer == "lru":
    return _construct(RecurrentBlock, "lru", d, heads, rngs=rngs, **dict(config.lru))
  options = dict(config.attention)
  if config.mixer == "softmax":
    options.update(forget_gate="none", causal=config.causal)
  elif config.mixer == "fox_pro":
    options = {**PRO_OPTIONS, **options}
  return _construct(ForgettingAttentionLayer, "attention", d, heads, rngs=rngs, **options)


def _construct(cls: type, section: str, *args, **kwargs) -> nnx.Module:
  try:
    return cls(*args, **kwargs)
  except (TypeError, ValueError) as error:
    raise ValueError(f"bad '{section}' options for {cls.__name__}: {error}") from error


def _mlp_width(config: BodyConfig) -> int:
  hidden = config.mlp_ratio * config.d_model
  if config.mlp_activation == "swiglu":
    hidden = hidden * 2 / 3  # Same parameter count as the gelu MLP of this ratio.
  return max(1, int(math.ceil(hidden)))


def _norm(kind: str, d: int, rngs: nnx.Rngs) -> nnx.Module:
  if kind == "rmsnorm":
    return nnx.RMSNorm(d, epsilon=1e-6, rngs=rngs)
  return nnx.LayerNorm(d, epsilon=1e-6, rngs=rngs)


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
  return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
  if value not in options:
    raise ValueError(f"{name} must be one of {options}, got {value!r}{_closest(str(value), options)}")


def _closest(name: str, options) -> str:
  """' (did you mean X?)' for the closest option, or ''."""
  match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f" (did you mean {match[0]!r}?)" if match else ""
