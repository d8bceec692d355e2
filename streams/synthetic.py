"""`synthetic`: tiny generated tasks, kept in memory, for fast tests of the harness.

Each class of a task has a prototype image: a base colour plus a stripe pattern of its own orientation and
frequency. An example is its class's prototype plus Gaussian pixel noise, so a small network learns a task
in a few steps but not in zero. With `multi_label_task=True` a multi-label task follows the others: each
of its labels is a coloured square at its own place, present independently with probability 1/2.

Everything is a pure function of `seed`: the same options give bitwise the same arrays, and each split is
generated on its own, so loading one split never shifts another.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nevis.options import Options, option
from nevis.registry import register_stream
from nevis.stream import Stream
from nevis.streams import generated
from nevis.task import SplitData, Task, TaskInfo, TaskKind

FIRST_YEAR = 2000
NOISE_STD = 24.0
MULTI_LABEL_CLASSES = 4


@dataclasses.dataclass(frozen=True)
class SyntheticOptions(Options):
  num_tasks: int = option(3, "single-label tasks (years 2000, 2001, ...)", minimum=0)
  image_size: int = option(8, "side of the square images, in pixels", minimum=2)
  num_classes: int | tuple[int, ...] = option(3, "classes of every task, or one count per task", minimum=2)
  examples_per_class: int | dict = option(16, generated.EXAMPLES_PER_CLASS_DOC.format("half of it, at least 1"),
                                          minimum=1)
  multi_label_task: bool = option(False, f"add a multi-label task of {MULTI_LABEL_CLASSES} labels at the end")
  seed: int = option(0, "seed of the generated images", minimum=0)

  def check(self) -> None:
    if isinstance(self.num_classes, tuple) and len(self.num_classes) != self.num_tasks:
      self.fail("num_classes", f"has {len(self.num_classes)} entries for {self.num_tasks} tasks")
    generated.check_examples_per_class(self)


@dataclasses.dataclass(frozen=True)
class _Generator:
  """Task.load_split of one synthetic task (picklable)."""

  task_index: int
  num_classes: int
  image_size: int
  examples_per_class: tuple[tuple[str, int], ...]
  multi_label: bool
  seed: int

  def __call__(self, split: str) -> SplitData:
    rng = generated.split_rng(self.seed, self.task_index, split)
    per_class = dict(self.examples_per_class)[split]
    if self.multi_label:
      components = _label_components(self.num_classes, self.image_size)
      count = per_class * self.num_classes
      labels = (rng.random((count, self.num_classes)) < 0.5).astype(np.uint8)
      clean = 64.0 + np.einsum("nk,khwc->nhwc", labels.astype(np.float32), components)
    else:
      prototypes = _prototypes(np.random.default_rng([self.seed, self.task_index]), self.num_classes,
                               self.image_size)
      labels = rng.permutation(np.repeat(np.arange(self.num_classes, dtype=np.int32), per_class))
      clean = prototypes[labels]
    noisy = clean + rng.normal(0.0, NOISE_STD, clean.shape)
    images = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    images.setflags(write=False)
    labels.setflags(write=False)
    return SplitData(images, labels)


def _prototypes(rng: np.random.Generator, num_classes: int, size: int) -> np.ndarray:
  """(K, S, S, 3) float class prototypes: base colour + oriented stripes."""
  y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
  colours = rng.uniform(60.0, 195.0, (num_classes, 3))
  # Evenly spread orientations, so that even classes of similar colour differ in pattern.
  angles = (np.arange(num_classes) + rng.uniform(0, 0.5)) * np.pi / num_classes
  frequencies = rng.uniform(0.6, 1.4, num_classes) * 2 * np.pi / max(size / 2, 2)
  along = np.cos(angles)[:, None, None] * x + np.sin(angles)[:, None, None] * y
  waves = np.cos(frequencies[:, None, None] * along)
  return colours[:, None, None, :] + 50.0 * waves[..., None]


def _label_components(num_labels: int, size: int) -> np.ndarray:
  """(L, S, S, 3): label l adds a bright square in its own cell of a 2x2 grid (cycling colours)."""
  half = max(size // 2, 1)
  components = np.zeros((num_labels, size, size, 3), np.float32)
  for label in range(num_labels):
    row, col = divmod(label % 4, 2)
    components[label, row * half:(row + 1) * half, col * half:(col + 1) * half, label % 3] = 150.0
  return components


@register_stream("synthetic", options=SyntheticOptions)
def synthetic_stream(options: SyntheticOptions) -> Stream:
  """`num_tasks` single-label tasks (years 2000, 2001, ...), plus one multi-label task if asked."""
  num_tasks, image_size, seed = options.num_tasks, options.image_size, options.seed
  num_classes = options.num_classes
  if isinstance(num_classes, int):
    num_classes = (num_classes,) * num_tasks
  per_class = generated.examples_per_class(options.examples_per_class, 2)

  tasks = []
  kinds = [(TaskKind.SINGLE_LABEL, k) for k in num_classes]
  if options.multi_label_task:
    kinds.append((TaskKind.MULTI_LABEL, MULTI_LABEL_CLASSES))
  for index, (kind, classes) in enumerate(kinds):
    multi = kind == TaskKind.MULTI_LABEL
    name = "synthetic_multi_label" if multi else f"synthetic_{index}"
    info = TaskInfo(
        name=name,
        dataset=name,
        year=FIRST_YEAR + index,
        kind=kind,
        class_names=tuple(f"{'label' if multi else 'class'}_{c}" for c in range(classes)),
        image_shape=(image_size, image_size, 3),
        display_name=f"Synthetic {'multi-label ' if multi else ''}task {index}",
        source="generated",
    )
    loader = _Generator(index, classes, image_size, tuple(per_class.items()), multi, seed)
    tasks.append(Task(info, loader))
  return Stream("synthetic", tuple(tasks))
