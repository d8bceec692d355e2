"""Sequence model and ViT encoder assembled from config dicts."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nevis.learners.nn import blocks, peer
from nevis.learners.nn.fox_layer import ForgettingAttentionLayer
from nevis.learners.nn.lru import RecurrentBlock
from nevis.learners.nn.peer import PEER

from .testing import apply, extend, normal

SMALL = dict(d_model=16, num_layers=2, num_heads=2,
             peer=dict(num_experts=16, num_heads=2, top_k=2, d_query=4))
# One config per mixer, shared by the causality and cache tests (same model and shapes: compiled once).
ADAPTED = dict(SMALL, d_input=5, d_output=3)


def _model(mixer: str):
  config = dict(ADAPTED, mixer=mixer)
  if mixer.startswith("fox"):
    config["attention"] = dict(fgate_bias_init=1.0)
  return blocks.build_sequence_model(config, nnx.Rngs(0))


@pytest.mark.parametrize("mixer", blocks.MIXERS)
def test_sequence_model_is_causal_for_every_mixer(mixer):
  model = _model(mixer)
  x = normal((2, 8, 5), seed=1)
  y = apply(model, x)
  assert y.shape == (2, 8, 3) and np.isfinite(np.asarray(y)).all()
  changed = x.copy()
  changed[:, 5:] = 3.0
  y_future_changed = apply(model, changed)
  np.testing.assert_allclose(y_future_changed[:, :5], y[:, :5], atol=1e-5)
  assert np.abs(np.asarray(y_future_changed[:, 5:] - y[:, 5:])).max() > 1e-4


# Every token mixer (FoX also blockwise with ACP pruning) with every MLP the sequence model accepts.
MIXER_VARIANTS = {
    "softmax": dict(mixer="softmax"),
    "fox": dict(mixer="fox", attention=dict(fgate_bias_init=1.0)),
    "fox_blockwise_acp": dict(mixer="fox", attention=dict(fgate_bias_init=-3.0, implementation="blockwise",
                                                          block_size=4, acp_epsilon=1e-3)),
    "fox_pro": dict(mixer="fox_pro", attention=dict(fgate_bias_init=1.0)),
    "lru": dict(mixer="lru"),
}
MLP_VARIANTS = {
    "dense": dict(mlp="dense"),
    **{f"peer_{norm}": dict(mlp="peer", peer=dict(SMALL["peer"], query_norm=norm))
       for norm in peer.PER_TOKEN_QUERY_NORMS},
}


def test_the_causality_matrix_covers_every_mixer_and_mlp():
  assert {v["mixer"] for v in MIXER_VARIANTS.values()} == set(blocks.MIXERS)
  assert {v["mlp"] for v in MLP_VARIANTS.values()} == set(blocks.MLPS)


@pytest.mark.parametrize("mlp", list(MLP_VARIANTS))
@pytest.mark.parametrize("mixer", list(MIXER_VARIANTS))
def test_no_output_sees_a_later_token_or_another_row(mixer, mlp):
  # One block: a leak in any layer shows at its output; a second block would only double the compile time.
  config = dict(ADAPTED, num_layers=1, **MIXER_VARIANTS[mixer], **MLP_VARIANTS[mlp])
  model = blocks.build_sequence_model(config, nnx.Rngs(0))
  x = normal((2, 12, 5), seed=7)
  t0 = 7
  changed = x.copy()
  changed[0, t0] += 3.0 * normal((5,), seed=8)  # one token of row 0 only
  y, y_changed = np.asarray(apply(model, x)), np.asarray(apply(model, changed))
  np.testing.assert_allclose(y_changed[0, :t0], y[0, :t0], rtol=0, atol=1e-6, err_msg="earlier outputs moved")
  np.testing.assert_allclose(y_changed[1], y[1], rtol=0, atol=1e-6, err_msg="the other row moved")
  moved = np.abs(y_changed[0] - y[0]).max(-1)
  assert moved[t0] > 1e-3 and moved[t0 + 1:].max() > 1e-4  # the token itself and a later one see it


def test_batchnorm_peer_queries_are_refused_in_sequence_models():
  for build, config in ((blocks.build_sequence_model, SMALL), (blocks.build_vit_encoder, dict(SMALL, image_size=8))):
    with pytest.raises(ValueError, match="batchnorm.*per-token norm"):
      build(dict(config, mlp="peer", peer=dict(SMALL["peer"], query_norm="batchnorm")), nnx.Rngs(0))
  # Dense blocks never build the PEER options, so they are not checked.
  blocks.SequenceModelConfig(**dict(SMALL, peer=dict(SMALL["peer"], query_norm="batchnorm")))


@pytest.mark.parametrize("mixer", blocks.MIXERS)
def test_extending_a_cached_prefix_equals_running_the_whole_sequence(mixer):
  model = _model(mixer)
  x = normal((2, 8, 5), seed=1)
  whole = apply(model, x)
  first, cache = extend(model, x[:, :5], None)
  second, cache = extend(model, x[:, 5:], cache)
  np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-5, atol=2e-6)
  assert np.abs(np.asarray(whole)).max() > 1e-2


def test_config_selects_the_layers():
  # eval_shape: the structure is all this test needs, so no parameter is drawn (or compiled).
  model = nnx.eval_shape(lambda: blocks.build_sequence_model(
      dict(SMALL, num_layers=4, mixer="fox_pro", mlp="peer", peer_every=2,
           attention=dict(acp_epsilon=1e-4, fgate_bias_init=2.0)), nnx.Rngs(0)))
  kinds = [type(block.mlp) for block in model.body.blocks]
  assert kinds == [blocks.Mlp, PEER, blocks.Mlp, PEER]
  mixer = model.body.blocks[0].mixer
  assert isinstance(mixer, ForgettingAttentionLayer)
  assert mixer.k_shift is not None and mixer.q_norm_scale is not None and mixer.o_gate is not None
  assert mixer.acp_epsilon == 1e-4
  lru_model = nnx.eval_shape(lambda: blocks.build_sequence_model(dict(SMALL, mixer="lru", lru=dict(width=32)),
                                                                 nnx.Rngs(0)))
  assert isinstance(lru_model.body.blocks[1].mixer, RecurrentBlock)
  assert lru_model.body.blocks[1].mixer.linear_x.kernel.shape == (16, 32)
  gelu = nnx.eval_shape(lambda: blocks.build_sequence_model(dict(SMALL, mlp_ratio=2.0), nnx.Rngs(0)))
  swiglu = nnx.eval_shape(lambda: blocks.build_sequence_model(
      dict(SMALL, mlp_ratio=3.0, mlp_activation="swiglu"), nnx.Rngs(0)))
  assert gelu.body.blocks[0].mlp.up.kernel.shape == (16, 32)
  assert swiglu.body.blocks[0].mlp.gate.kernel.shape == swiglu.body.blocks[0].mlp.up.kernel.shape == (16, 32)


def test_fox_gate_bias_from_config():
  model = _model("fox")
  np.testing.assert_allclose(model.body.blocks[0].mixer.fgate_proj.bias[...], 1.0)


def test_sequence_model_trains_one_step_with_the_decay_mask():
  import optax
  model = blocks.build_sequence_model(dict(SMALL, mixer="fox", mlp="peer"), nnx.Rngs(0))
  optimizer = nnx.Optimizer(model, optax.adamw(1e-2, mask=peer.weight_decay_mask), wrt=nnx.Param)
  x = normal((2, 6, 16), seed=2)

  @nnx.jit
  def step(model, optimizer):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - 1.0) ** 2))(model)
    optimizer.update(model, grads)
    return loss

  first = step(model, optimizer)
  for _ in range(3):
    last = step(model, optimizer)
  assert float(last) < float(first)


def test_lru_model_accepts_reset_and_attention_refuses_it():
  x = normal((1, 8, 16), seed=3)
  reset = np.zeros((1, 8), bool)
  reset[:, [0, 4]] = True
  model = blocks.build_sequence_model(dict(SMALL, mixer="lru"), nnx.Rngs(0))
  packed = apply(model, x, reset)
  np.testing.assert_allclose(packed[:, 4:], apply(model, x[:, 4:], None), rtol=1e-5, atol=1e-5)
  fox_model = blocks.build_sequence_model(dict(SMALL, mixer="fox"), nnx.Rngs(0))
  with pytest.raises(ValueError, match="reset"):
    fox_model(x, reset)


@pytest.mark.parametrize("mixer,pool,mlp", [("softmax", "mean", "dense"), ("fox_pro", "cls", "peer"),
                                            ("lru", "cls", "dense")])
def test_vit_encoder(mixer, pool, mlp):
  config = dict(SMALL, mixer=mixer, pool=pool, mlp=mlp, image_size=[8, 12], patch_size=4, in_channels=1)
  encoder = blocks.build_vit_encoder(config, nnx.Rngs(0))
  images = np.random.default_rng(4).uniform(size=(3, 8, 12, 1)).astype(np.float32)
  features = apply(encoder, images)
  assert features.shape == (3, encoder.features_dim) == (3, 16)
  assert encoder.config.causal == (mixer != "softmax")
  # The pooled features depend on the first patch (CLS comes last, so causal mixers see every patch).
  changed_images = images.copy()
  changed_images[:, :4, :4] = 0.0
  changed = apply(encoder, changed_images)
  assert np.abs(np.asarray(changed - features)).max() > 1e-5


def test_patchify_raster_order():
  images = jnp.arange(4 * 4, dtype=jnp.float32).reshape(1, 4, 4, 1)
  patches = blocks.patchify(images, 2)
  np.testing.assert_array_equal(patches[0], [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]])


def test_bad_configs_name_the_problem():
  with pytest.raises(ValueError, match="did you mean 'num_heads'"):
    blocks.build_sequence_model(dict(SMALL, num_head=2), nnx.Rngs(0))
  with pytest.raises(ValueError, match="mixer"):
    blocks.build_sequence_model(dict(SMALL, mixer="mamba"), nnx.Rngs(0))
  with pytest.raises(ValueError, match="causal"):
    blocks.build_sequence_model(dict(SMALL, mixer="fox", causal=False), nnx.Rngs(0))
  with pytest.raises(ValueError, match="peer"):
    blocks.build_sequence_model(dict(SMALL, mlp="peer", peer=dict(num_experts=15)), nnx.Rngs(0))
  with pytest.raises(ValueError, match="patch_size"):
    blocks.build_vit_encoder(dict(SMALL, image_size=10, patch_size=4), nnx.Rngs(0))

