"""The handler framework: one small module per custom NEVIS'22 dataset.

A handler declares its source files (`Artefact`s) and an `extract(paths)` that parses the original archives
into examples per official split. Everything else is common (`prepare_with_handler`): fetching, NEVIS's
extraction rules (texture crops, longest-side resizing; box crops are done by `extract` with `crop_box`),
resizing to the store's size, the catalogue's split recipe, and the atomic write to the store.

Adding a dataset: write `streams/handlers/<name>.py` defining `HANDLER = Handler(...)`, add `<name>` to
`HANDLER_MODULES` in `streams/handlers/__init__.py`, and add one fixture test that builds a tiny archive
with the original's layout.
"""
from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from nevis.streams import splits as split_recipes
from nevis.streams.download import Artefact, fetch, file_digest
from nevis.task import SPLITS, SplitData, TaskKind

# NEVIS's texture rule: one random 64x64 crop per image, taken at extraction.
TEXTURE_CROP_SIZE = 64
_TEXTURE_SEED = 0


@dataclasses.dataclass
class Example:
  """One parsed example: an image (uint8 array or PIL image), a label, optional metadata for splits.

  `label` is a class id (single-label) or a sequence of class ids (multi-label).
  """

  image: Any
  label: int | Sequence[int]
  meta: Any = None


@dataclasses.dataclass
class Extracted:
  """What `extract` returns: class names in label-id order and the examples of each official split.

  `plan_splits`, when set, overrides the handler's: for splits that depend on files only `extract` reads.
  """

  class_names: Sequence[str]
  splits: Mapping[str, Iterable[Example]]
  plan_splits: Callable[[Mapping[str, list]], split_recipes.SplitPlan] | None = None


@dataclasses.dataclass(frozen=True)
class Handler:
  """A custom dataset source.

  `image_rule` is NEVIS's per-dataset extraction rule: "none", "texture_crop" (a seeded random 64x64
  crop) or "max_side:<n>" (longest side shrunk to n). `plan_splits(metas)` is needed for recipes that
  depend on per-example metadata (COIL bins, poses, persons): it gets {official split: [meta, ...]} and
  returns a `SplitPlan`; recipes that need only counts (A, T, TD) come from the catalogue.
  """

  name: str
  artefacts: tuple[Artefact, ...]
  extract: Callable[[Mapping[str, Path]], Extracted]
  plan_splits: Callable[[Mapping[str, list]], split_recipes.SplitPlan] | None = None
  image_rule: str = "none"
  manual: str = ""  # extra manual step (a system tool, a sign-up), shown in instructions

  def instructions(self) -> str:
    """One short line: a manual step shared by several files is said once, naming them all, and many
    automatic downloads are summed up by their common address."""
    by_hand = [a for a in self.artefacts if a.manual or a.kaggle or not a.url]
    steps = [self.manual] if self.manual else []
    shared: dict[str, list[str]] = {}
    for artefact in by_hand:
      if artefact.manual:
        shared.setdefault(artefact.manual, []).append(artefact.filename)
      else:
        steps.append(artefact.instructions())
    steps += [f"{text} (put {', '.join(files)} in --manual-dir)" for text, files in shared.items()]
    if not steps:
      return f"downloaded automatically from {_addresses([a.url for a in self.artefacts if a.url])}"
    return "; ".join(steps)


def _addresses(urls: list[str]) -> str:
  """The URLs, or for more than three, how many and their common folder."""
  if len(urls) <= 3:
    return ", ".join(urls)
  folder = os.path.commonprefix(urls).rsplit("/", 1)[0] + "/"
  return f"{len(urls)} files under {folder}" if "://" in folder else f"{urls[0]} and {len(urls) - 1} more"


# -- image helpers ----------------------------------------------------------------------------------


def to_array(image: Any) -> np.ndarray:
  """PIL image or array -> uint8 array (H, W) or (H, W, 3); palette/alpha/16-bit images converted."""
  if isinstance(image, np.ndarray):
    if image.dtype != np.uint8:
      raise ValueError(f"images must be uint8, got {image.dtype}")
    return image
  mode = image.mode
  if mode not in ("L", "RGB"):
    image = image.convert("RGB" if mode in ("P", "RGBA", "CMYK", "YCbCr", "LA", "PA") else "L")
  return np.asarray(image, dtype=np.uint8)


def decode_image(data: bytes) -> np.ndarray:
  from PIL import Image

  with Image.open(io.BytesIO(data)) as image:
    image.load()
    return to_array(image)


def crop_box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
  """Crops (x_min, y_min, x_max, y_max) in pixels, clipped to the image (box crops of COCO, VOC)."""
  x0, y0, x1, y1 = (int(round(v)) for v in box)
  height, width = image.shape[:2]
  x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
  if x1 <= x0 or y1 <= y0:
    raise ValueError(f"empty box {box} for an image of {width}x{height}")
  return image[y0:y1, x0:x1]


def random_crop(image: np.ndarray, size: int, rng: np.random.RandomState) -> np.ndarray:
  height, width = image.shape[:2]
  if height < size or width < size:
    return image
  top = rng.randint(0, height - size + 1)
  left = rng.randint(0, width - size + 1)
  return image[top:top + size, left:left + size]


def shrink_to_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
  from PIL import Image

  height, width = image.shape[:2]
  if max(height, width) <= max_side:
    return image
  factor = max_side / max(height, width)
  size = (max(1, int(width * factor)), max(1, int(height * factor)))
  return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


class _ImageRule:
  def __init__(self, rule: str):
    self.rule = rule
    self.rng = np.random.RandomState(_TEXTURE_SEED)
    if rule.startswith("max_side:"):
      self.max_side = int(rule.partition(":")[2])
    elif rule not in ("none", "texture_crop"):
      raise ValueError(f"unknown image rule {rule!r}")

  def __call__(self, image: np.ndarray) -> np.ndarray:
    if self.rule == "texture_crop":
      return random_crop(image, TEXTURE_CROP_SIZE, self.rng)
    if self.rule.startswith("max_side:"):
      return shrink_to_max_side(image, self.max_side)
    return image


# -- buffers ------------------------------------------------------------------------------------------


class ImageSpill:
  """Appends fixed-size images to a file, so extraction never holds a whole dataset in memory."""

  def __init__(self, directory: Path, name: str, image_size: int):
    self.path = directory / f"{name}.u8"
    self.shape = (image_size, image_size, 3)
    self.count = 0
    self._file = open(self.path, "wb")

  def append(self, images: np.ndarray) -> None:
    self._file.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    self.count += len(images)

  def finish(self) -> np.ndarray:
    self._file.close()
    if self.count == 0:
      return np.zeros((0, *self.shape), np.uint8)
    return np.memmap(self.path, np.uint8, "r", shape=(self.count, *self.shape))


def gather(parts: list[tuple[str, np.ndarray]], images: Mapping[str, np.ndarray], out: Path,
           image_size: int) -> np.ndarray:
  """The images a split plan names, copied chunk by chunk into one memory-mapped array."""
  total = sum(len(idx) for _, idx in parts)
  result = np.lib.format.open_memmap(out, "w+", np.uint8, (total, image_size, image_size, 3))
  position = 0
  for official, idx in parts:
    for start in range(0, len(idx), 4096):
      chunk = idx[start:start + 4096]
      result[position:position + len(chunk)] = images[official][chunk]
      position += len(chunk)
  result.flush()
  return result


def labels_array(labels: list, num_classes: int, kind: TaskKind) -> np.ndarray:
  if kind == TaskKind.SINGLE_LABEL:
    return np.asarray(labels, dtype=np.int32).reshape(-1)
  multi_hot = np.zeros((len(labels), num_classes), np.uint8)
  for row, ids in enumerate(labels):
    multi_hot[row, list(ids)] = 1
  return multi_hot


# -- the common path ----------------------------------------------------------------------------------


def materialise(
    extracted: Extracted,
    *,
    recipe: str,
    plan_splits,
    image_rule: str,
    image_size: int,
    kind: TaskKind,
    scratch: Path,
    class_names: Sequence[str] | None = None,
) -> tuple[dict[str, SplitData], list[str]]:
  """Extracted examples -> nevis's four splits of (N, S, S, 3) uint8 images, and the class names."""
  from nevis.streams.images import resize_images

  names = [str(c) for c in (class_names if class_names is not None else extracted.class_names)]
  rule = _ImageRule(image_rule)
  images: dict[str, np.ndarray] = {}
  labels: dict[str, list] = {}
  metas: dict[str, list] = {}
  for official, examples in extracted.splits.items():
    spill = ImageSpill(scratch, f"official-{official}", image_size)
    labels[official], metas[official] = [], []
    batch: list[np.ndarray] = []
    for example in examples:
      batch.append(rule(to_array(example.image)))
      labels[official].append(example.label)
      metas[official].append(example.meta)
      if len(batch) == 256:
        spill.append(resize_images(batch, image_size))
        batch = []
    if batch:
      spill.append(resize_images(batch, image_size))
    images[official] = spill.finish()
  counts = {official: len(labels[official]) for official in labels}
  code = recipe.partition(":")[0]
  plan_splits = extracted.plan_splits or plan_splits
  if plan_splits is not None:
    plan = plan_splits(metas)
  else:
    plan = split_recipes.plan_from_counts(code, counts)
  split_recipes.check_plan(plan, counts)
  label_arrays = {o: labels_array(labels[o], len(names), kind) for o in labels}
  result = {}
  for split in SPLITS:
    parts = plan[split]
    split_images = gather(parts, images, scratch / f"{split}_images.npy", image_size)
    if parts:
      split_labels = np.concatenate([label_arrays[o][idx] for o, idx in parts])
    else:
      width = () if kind == TaskKind.SINGLE_LABEL else (len(names),)
      split_labels = np.zeros((0, *width), np.int32 if not width else np.uint8)
    result[split] = SplitData(split_images, split_labels)
  return result, names


def prepare_with_handler(
    handler: Handler,
    *,
    dataset: str,
    store,
    recipe: str,
    kind: TaskKind,
    class_names: Sequence[str] | None = None,
    manual_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    source: str = "",
) -> Path:
  """Fetches, extracts, splits and stores one dataset; returns its folder in the store."""
  paths = {
      a.filename: fetch(a, cache_dir=cache_dir, manual_dir=manual_dir, dataset=dataset)
      for a in handler.artefacts
  }
  extracted = handler.extract(paths)
  scratch_root = Path(store.root)
  scratch_root.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(prefix=f".scratch-{dataset}-", dir=scratch_root) as scratch:
    data, names = materialise(
        extracted, recipe=recipe, plan_splits=handler.plan_splits, image_rule=handler.image_rule,
        image_size=store.image_size, kind=kind, scratch=Path(scratch), class_names=class_names,
    )
    provenance = {
        "source": source or f"handler:{handler.name}",
        "split_recipe": recipe,
        "image_rule": handler.image_rule,
        "source_checksums": {name: "sha256:" + file_digest(path) for name, path in paths.items()},
    }
    return store.write(dataset, data, class_names=names, kind=kind, provenance=provenance)


# -- archive helpers ------------------------------------------------------------------------------------


def zip_members(path: Path) -> Iterator[tuple[str, bytes]]:
  """(name, bytes) of the files of a zip in sorted name order (dm_nevis reads zips sorted)."""
  import zipfile

  with zipfile.ZipFile(path) as archive:
    for name in sorted(archive.namelist()):
      if name.endswith("/") or name.endswith("Thumbs.db"):
        continue
      yield name, archive.read(name)


def tar_members(path: Path) -> Iterator[tuple[str, bytes]]:
  """(name, bytes) of the regular files of a tar (any compression) in archive order."""
  import tarfile

  with tarfile.open(path, "r:*") as archive:
    for member in archive:
      if not member.isfile() or member.name.endswith("Thumbs.db"):
        continue
      handle = archive.extractfile(member)
      if handle is not None:
        yield member.name, handle.read()
