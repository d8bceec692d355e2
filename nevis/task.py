"""Tasks: what a stream is made of.

A task is metadata (`TaskInfo`) plus four splits of uint8 images. Splits are loaded lazily, so a stream
of a hundred tasks can be listed without touching the disk.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Callable, Protocol

import numpy as np

SPLITS = ("train", "dev", "dev_test", "test")


class TaskKind(str, enum.Enum):
  SINGLE_LABEL = "single_label"
  MULTI_LABEL = "multi_label"


@dataclasses.dataclass(frozen=True)
class TaskInfo:
  """What every party may know about a task: no data."""

  name: str  # unique within a stream, e.g. "mnist" or "mnist_2015" for a repeat
  dataset: str  # the dataset key in the store
  year: int
  kind: TaskKind
  class_names: tuple[str, ...]
  image_shape: tuple[int, int, int]  # (height, width, channels) as stored
  display_name: str = ""
  held_out: bool = False
  source: str = ""  # where the data comes from, e.g. "tfds:mnist" or "handler:coil20" or "embedded"
  # Whether a left-right mirror image keeps its label (False for digits, letters, traffic signs); None when
  # the stream does not say. Augmentation policies read it (`nevis.learners.augment.flips`).
  flip_invariant: bool | None = None

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def multi_label(self) -> bool:
    return self.kind == TaskKind.MULTI_LABEL


@dataclasses.dataclass(frozen=True)
class SplitData:
  """One split: images (N, H, W, C) uint8 and labels.

  Single-label: labels (N,) int32 class ids. Multi-label: labels (N, K) uint8 in {0, 1}.
  Arrays may be read-only memory maps.
  """

  images: np.ndarray
  labels: np.ndarray

  def __post_init__(self):
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise ValueError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
    if len(self.images) != len(self.labels):
      raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

  def __len__(self) -> int:
    return len(self.images)

  def subset(self, index: np.ndarray | slice) -> "SplitData":
    return SplitData(np.asarray(self.images[index]), np.asarray(self.labels[index]))


class DataSource(Protocol):
  """How a task's data is obtained and checked. Streams that read a prepared store provide one, so
  `nevis data` and the runner's pre-flight check work for any stream without knowing its module."""

  dataset: str

  def status(self) -> str:  # "prepared" | "missing" | "corrupt"
    ...

  def size_bytes(self) -> int:
    ...

  def verify(self) -> None:  # checks stored arrays against their checksums; DataError if corrupt
    ...

  def instructions(self) -> str:  # one line: how to get this dataset
    ...

  def prepare(self, *, manual_dir: str | None = None, force: bool = False) -> None:
    ...

  # Optional (listings use them when present): examples per split of the prepared data ({} when not
  # prepared), and the folder of the store that holds it.
  #   def split_sizes(self) -> dict[str, int]: ...
  #   folder: Path


@dataclasses.dataclass(frozen=True)
class Task:
  """A task of a stream: its metadata and a loader for its splits (called only by the runner)."""

  info: TaskInfo
  load_split: Callable[[str], SplitData] = dataclasses.field(repr=False, compare=False)
  data: DataSource | None = dataclasses.field(default=None, repr=False, compare=False)

  @property
  def name(self) -> str:
    return self.info.name
