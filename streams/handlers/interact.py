"""INTERACT (Antol et al. 2014): 60 interaction classes; real images split per class, illustrations train.

Four zips: interact_{stand-alone,illustration_category}_dataset_{images,annotations}.zip. Each annotation
zip holds one text file whose lines are "<label 1-60>;<file name>;<class name>"; the image is imgs/<file
name> in the matching images zip. Per class of the stand-alone set (classes in order of first appearance,
paths in file order), one shared np.random.default_rng(1) permutes the paths; the first int(n * 0.56) go to
train, the next int(n * 0.12) to dev, the next int(n * 0.12) to dev_test, the rest to test. Every
illustration image is added to train. Images are read from the stand-alone zip then the illustration zip,
each in sorted name order, and three truncated files are skipped (dm_nevis handlers/interact.py).
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from nevis.streams import splits
from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, zip_members

STAND_ALONE_IMAGES = "interact_stand-alone_dataset_images.zip"
STAND_ALONE_ANNOTATIONS = "interact_stand-alone_dataset_annotations.zip"
STAND_ALONE_LABELS = "interact_final_dataset_labels_and_images.txt"
ILLUSTRATION_IMAGES = "interact_illustration_category_dataset_images.zip"
ILLUSTRATION_ANNOTATIONS = "interact_illustration_category_dataset_annotations.zip"
ILLUSTRATION_LABELS = "interact_illustration_category_dataset_labels_and_images.txt"
NUM_CLASSES = 60
TEST_FRACTION = 0.2
DEV_FRACTION = 0.15  # of the non-test part, as is dev_test's
_PERMUTATION_SEED = 1
# These files fail to decode fully (dm_nevis leaves them out).
TRUNCATED = frozenset({
    "imgs/22TCSTMOFXRDFDVIK9PDTXJK5OZTQ6_20.jpg",
    "imgs/249YW2GTP9RAU1I25WX94SOKQN6OTI_16.jpg",
    "imgs/24PFCD45XCETAM5TCF9N9TGUNNTZXA_02.jpg",
})
_URL = "https://computing.ece.vt.edu/~santol/projects/zsl_via_visual_abstraction/interact/"


def read_annotations(path: Path, filename: str) -> tuple[dict[int, list[str]], dict[int, str]]:
  """({label: [image path, ...]} in file order, {label: class name}); labels 0-based."""
  paths: dict[int, list[str]] = {}
  names: dict[int, str] = {}
  with zipfile.ZipFile(path) as archive:
    text = archive.read(filename).decode()
  for line in text.splitlines():
    if not line.strip():
      continue
    label_text, file_name, class_name = line.strip().split(";")
    label, image = int(label_text) - 1, f"imgs/{file_name}"
    if image in TRUNCATED:
      continue
    if names.setdefault(label, class_name) != class_name:
      raise ValueError(f"{filename}: label {label + 1} is named both {names[label]!r} and {class_name!r}")
    paths.setdefault(label, []).append(image)
  return paths, names


def split_class(paths: Sequence[str], rng: np.random.Generator) -> dict[str, list[str]]:
  """One class's paths -> nevis split; consumes one permutation of `rng`."""
  kept = 1 - TEST_FRACTION
  fractions = np.array([kept * (1 - 2 * DEV_FRACTION), kept * DEV_FRACTION, kept * DEV_FRACTION])
  bounds = np.cumsum((len(paths) * fractions).astype(np.int32))
  parts = np.split(rng.permutation(len(paths)), bounds)
  return {split: [paths[i] for i in part] for split, part in zip(("train", "dev", "dev_test", "test"), parts)}


def split_of_paths(label_to_paths: Mapping[int, Sequence[str]]) -> dict[str, str]:
  rng = np.random.default_rng(seed=_PERMUTATION_SEED)
  split_of = {}
  for paths in label_to_paths.values():
    for split, chosen in split_class(paths, rng).items():
      split_of.update({path: split for path in chosen})
  return split_of


def extract(paths: Mapping[str, Path]) -> Extracted:
  real, names = read_annotations(paths[STAND_ALONE_ANNOTATIONS], STAND_ALONE_LABELS)
  if sorted(names) != list(range(NUM_CLASSES)):
    raise ValueError(f"INTERACT: expected labels 1-{NUM_CLASSES}, found {len(names)} distinct")
  illustrations, illustration_names = read_annotations(paths[ILLUSTRATION_ANNOTATIONS], ILLUSTRATION_LABELS)
  for label, name in illustration_names.items():
    if names.get(label) != name:
      raise ValueError(f"INTERACT: illustration label {label + 1} ({name!r}) does not match the real set")
  label_of = {path: label for label, ps in real.items() for path in ps}
  split_of = split_of_paths(real)
  from_zip = {STAND_ALONE_IMAGES: (label_of, split_of), ILLUSTRATION_IMAGES: (
      {path: label for label, ps in illustrations.items() for path in ps},
      {path: "train" for ps in illustrations.values() for path in ps})}

  def examples():
    for zip_name in (STAND_ALONE_IMAGES, ILLUSTRATION_IMAGES):
      labels, assigned = from_zip[zip_name]
      for name, data in zip_members(paths[zip_name]):
        if name in assigned:
          yield Example(decode_image(data), labels[name], meta=assigned[name])

  return Extracted([names[i] for i in range(NUM_CLASSES)], {"all": examples()})


def plan_splits(metas):
  return splits.by_group(metas["all"], {s: s for s in ("train", "dev", "dev_test", "test")})


HANDLER = Handler(
    name="interact",
    artefacts=(
        Artefact(STAND_ALONE_IMAGES, url=_URL + "interact_stand-alone_dataset/" + STAND_ALONE_IMAGES,
                 checksum="md5:93d7a853e0e596e7ef7fecc4808ffdf8"),
        Artefact(STAND_ALONE_ANNOTATIONS,
                 url=_URL + "interact_stand-alone_dataset/" + STAND_ALONE_ANNOTATIONS,
                 checksum="md5:aef1de2ad7c596a566cd78414a266f5f"),
        Artefact(ILLUSTRATION_IMAGES,
                 url=_URL + "interact_illustration_category_dataset/" + ILLUSTRATION_IMAGES,
                 checksum="md5:47c043e360a177c026fa7b7652fdf5b2"),
        Artefact(ILLUSTRATION_ANNOTATIONS,
                 url=_URL + "interact_illustration_category_dataset/" + ILLUSTRATION_ANNOTATIONS,
                 checksum="md5:56dec629f180077eb2a76b3f67c7b02f"),
    ),
    extract=extract,
    plan_splits=plan_splits,
)
