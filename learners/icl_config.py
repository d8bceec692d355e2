"""Options of the `icl` learner (`IclConfig`) and of its encoder and sequence model."""
from __future__ import annotations

import dataclasses

from nevis.learners import icl_model
from nevis.learners.nn.blocks import MIXERS, SequenceModelConfig, VitEncoderConfig
from nevis.learners.selection import LEARNING_RATES_DOC, SearchConfig
from nevis.options import option

MODES = ("icl_only", "ft_only", "icl_ft")


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

  mode: str = option("icl_ft", "icl_only (no weight update), ft_only (encoder + head) or icl_ft (prompts)",
                     choices=MODES)
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
