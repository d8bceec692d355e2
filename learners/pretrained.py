"""NEVIS's "Pretrained" baseline: every task starts from one backbone trained beforehand.

`pretrained_from` names the workdir of an earlier nevis run (for example `independent` on
`nevis22_imagenet_only`, as dm_nevis pretrains on ImageNet); its final learner state provides the
backbone. A missing or mismatched checkpoint is an error, never a silent random initialisation (the
dm_nevis loader fell back to random weights when the file was missing).

`reset_batch_stats: true` starts every task from the pretrained weights with fresh BatchNorm statistics
(mean 0, variance 1), as dm_nevis's `load_model_params_from_ckpt` does (it loads parameters only); false
keeps the statistics the pretraining run accumulated.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from nevis.errors import ConfigError
from nevis.learners.finetuning import Backbone, FinetuningLearner
from nevis.learners.recipe import FinetuningConfig
from nevis.learners.toolkit import Purpose, derive_key, key_words
from nevis.options import option
from nevis.protocol import InitContext, State, TrainingTask
from nevis.registry import register_learner


@dataclasses.dataclass(frozen=True)
class PretrainedConfig(FinetuningConfig):
  """The fine-tuning options, and the run whose backbone every task starts from."""

  pretrained_from: str = option("", "workdir of a finished run whose final backbone every task starts from")
  reset_batch_stats: bool = option(False, "start from fresh BatchNorm statistics (dm_nevis loads parameters only)")


@register_learner("pretrained")
class PretrainedLearner(FinetuningLearner):
  """Every task starts from a backbone pretrained by an earlier run (`pretrained_from: WORKDIR`)."""

  Config = PretrainedConfig

  def init(self, ctx: InitContext) -> State:
    return {**super().init(ctx), "pretrained": load_backbone(self.config.pretrained_from)}

  def starts_from(self) -> tuple[str, ...]:
    return (self.config.pretrained_from,) if self.config.pretrained_from else ()

  def initial_backbone(self, task: TrainingTask, state: State) -> Backbone | None:
    pretrained = state["pretrained"]
    fresh = self._functions.get(task.jit, "backbone_init")(derive_key(key_words(task.rng), self.config.seed, Purpose.INIT))
    expected = jax.tree.map(np.shape, fresh)
    got = jax.tree.map(np.shape, pretrained)
    if expected != got:
      raise ConfigError(
          f"the backbone in {self.config.pretrained_from!r} does not match width={self.config.width}, "
          f"blocks_per_stage={self.config.blocks_per_stage}, stem={self.config.stem!r}; use the "
          "architecture it was trained with"
      )
    task.notes["pretrained_from"] = self.config.pretrained_from
    if self.config.reset_batch_stats:
      return {"params": pretrained["params"], "batch_stats": fresh["batch_stats"]}
    return pretrained


def load_backbone(workdir: str) -> Backbone:
  from nevis.checkpoints import latest, load_tree

  if not workdir:
    raise ConfigError("learner `pretrained` needs learner_options.pretrained_from: the workdir of a finished run")
  found = latest(Path(workdir) / "checkpoints", "state_")
  if found is None:
    raise ConfigError(
        f"pretrained_from {workdir!r} holds no learner state (checkpoints/state_*); point it at a run's workdir"
    )
  state = load_tree(found[1])
  backbone = state.get("carry") or (list(state.get("backbones", {}).values()) or [None])[-1]
  if not backbone:
    raise ConfigError(f"the learner state in {workdir!r} has no backbone; pretrain with `independent` or `previous`")
  return backbone
