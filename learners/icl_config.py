"""Options of the `icl` learner (`IclConfig`) and of its encoder and sequence model."""
from __future__ import annotations

import dataclasses

from nevis.learners import icl_model
from nevis.learners.augment import FLIP_POLICIES
from nevis.learners.nn.blocks import MIXERS, SequenceModelConfig, VitEncoderConfig
from nevis.learners.selection import LEARNING_RATES_DOC, SearchConfig
from nevis.options import option

MODES = ("icl_only", "ft_only", "icl_ft", "meta_pretrain")


@dataclasses.dataclass(frozen=True)
class IclSequence(SequenceModelConfig):
  """The causal sequence model over example tokens; d_input and d_output are the learner's to set."""

  d_model: int = dataclasses.field(default=64, metadata={"doc": "width of every token", "minimum": 1})


@dataclasses.dataclass(frozen=True)
class IclVit(VitEncoderConfig):
  """The ViT encoder (encoder: vit); image_size and in_channels are the learner's to set."""

  d_model: int = dataclasses.field(default=64, metadata={"doc": "width of every token", "minimum": 1})
  mixer: str = dataclasses.field(default="softmax", metadata={"doc": "token mixer", "choices": MIXERS})


@dataclasses.dataclass(frozen=True)
class IclConfig(SearchConfig):
  """Options of the in-context learner."""

  mode: str = option("icl_ft", "icl_only (no weight update), ft_only (encoder + head), icl_ft (prompts) or "
                     "meta_pretrain (episodes of many-class tasks)", choices=MODES)
  init_from: str = option("", "workdir of a finished icl run (e.g. meta_pretrain) whose final model this run starts "
                              "from; empty: a fresh initialisation")
  meta_ways: tuple[int, ...] = option((2, 10), "meta_pretrain: [min, max] classes of an episode", minimum=2)
  meta_shots: tuple[int, ...] = option((1, 10), "meta_pretrain: [min, max] examples of each class in an episode's "
                                                "pool, which its context cycles over", minimum=1)
  meta_unbalanced: float = option(0.5, "meta_pretrain: fraction of episodes with skewed class counts (Dirichlet(1) "
                                      "proportions, queries alike), a stepping stone to matching", minimum=0, maximum=1)
  meta_prototype_weight: float = option(1.0, "meta_pretrain: weight of the prototype loss on the encoder's features "
                                             "(Snell et al. 2017) added to the ICL loss", minimum=0)
  min_crop_area: float = option(0.08, "training crops: smallest area fraction (1: none, the central square)",
                                minimum=0, maximum=1)
  flip: str = option("always", "training flips (p = 0.5): always, never, or auto (not where a mirror image can "
                               "change the label)", choices=FLIP_POLICIES)
  encoder: str = option("resnet", "the image encoder", choices=icl_model.ENCODERS)
  width: int = option(16, "encoder resnet: channels of the first stage", minimum=1)
  blocks_per_stage: tuple[int, ...] = option((1, 1, 1), "encoder resnet: residual blocks of each stage", minimum=1)
  image_size: int = option(32, "side of the encoder's input in pixels", minimum=1)
  vit: IclVit = option(IclVit(), "encoder vit: its options")
  sequence: IclSequence = option(IclSequence(), "the sequence model: mixer, mlp, d_model, peer, ...")
  label_vocab: int = option(16, "label ids a prompt can show; tasks with more classes take the head route",
                            minimum=2)
  context_size: int = option(16, "examples in a context", minimum=1)
  queries_per_prompt: int = option(8, "queries after each training context", minimum=1)
  prompts_per_step: int = option(4, "prompts in a training step", minimum=1)
  eval_contexts: int = option(2, "contexts a prediction averages over", minimum=1)
  num_steps: int = option(100, "steps per candidate", minimum=1)
  learning_rates: tuple[float, ...] = option((3e-4, 1e-3), LEARNING_RATES_DOC, minimum=0)
  batch_size: int = option(32, "head route: training batch", minimum=1)
  weight_decay: float = option(1e-4, "AdamW weight decay of kernels, embeddings and expert tables", minimum=0)
  warmup_fraction: float = option(0.1, "linear warm-up, as a fraction of the steps", minimum=0, below=1)
  eval_batch_size: int = option(128, "images per call when scoring and embedding", minimum=1)
  seed: int = option(0, "seed of initialisation, prompts, contexts and augmentations", minimum=0)

  def check(self):
    super().check()
    if self.sequence.d_input is not None or self.sequence.d_output is not None:
      self.fail("sequence", "sets d_input/d_output itself (encoder features in, label_vocab out); drop them")
    for key in ("meta_ways", "meta_shots"):
      low_high = getattr(self, key)
      if len(low_high) != 2 or low_high[0] > low_high[1]:
        self.fail(key, "must be [min, max] with min <= max")
    if self.mode == "meta_pretrain" and self.meta_ways[1] > min(self.label_vocab, self.context_size):
      self.fail("meta_ways", f"may ask for at most label_vocab ({self.label_vocab}) and context_size "
                             f"({self.context_size}) classes")
    if self.mode == "meta_pretrain" and len(self.learning_rates) != 1:
      self.fail("learning_rates", "meta_pretrain trains once: give one rate")
