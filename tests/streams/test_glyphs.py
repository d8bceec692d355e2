"""The procedural `glyphs` stream: metadata, shapes, determinism, split independence, learnability, options."""
from __future__ import annotations

import numpy as np
import pytest

from nevis.errors import ConfigError
from nevis.registry import STREAMS
from nevis.streams import glyph_classes
from nevis.streams.glyphs import glyphs_stream
from nevis.task import SPLITS, TaskKind

# Small tasks keep these tests to a few hundred renderings each.
TINY = {"num_classes": 6, "examples_per_class": {"train": 4, "dev": 1, "dev_test": 2, "test": 3}, "image_size": 16}


def _splits(stream, order=SPLITS):
  return {split: stream.tasks[0].load_split(split) for split in order}


def test_registered_under_its_name_and_listed_with_the_builtins():
  assert STREAMS.get("glyphs") is glyphs_stream
  assert "glyphs" in STREAMS.names()


def test_default_metadata_without_rendering():
  stream = glyphs_stream()
  assert stream.name == "glyphs" and len(stream) == 1
  info = stream.tasks[0].info
  assert (info.name, info.year, info.kind, info.source) == ("glyphs_0", 1990, TaskKind.SINGLE_LABEL,
                                                            "procedural:glyphs")
  assert info.num_classes == 1000 and info.image_shape == (32, 32, 3)
  assert len(set(info.class_names)) == 1000
  assert all(name.startswith("U+") for name in info.class_names)
  codes = [int(name.split()[0][2:], 16) for name in info.class_names]
  assert codes == sorted(codes) and set(codes) <= set(glyph_classes.CODE_POINTS)
  assert stream.tasks[0].data is None  # generated in memory: nothing to prepare


def test_shapes_dtypes_and_counts():
  stream = glyphs_stream(**TINY)
  for split, per_class in zip(SPLITS, (4, 1, 2, 3)):
    data = stream.tasks[0].load_split(split)
    assert data.images.shape == (6 * per_class, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(data.labels, minlength=6), [per_class] * 6)
    assert not data.images.flags.writeable and not data.labels.flags.writeable
  counts = glyphs_stream(num_classes=3, examples_per_class=9, image_size=8)
  assert [len(counts.tasks[0].load_split(s)) for s in SPLITS] == [27, 6, 6, 6]  # a quarter, at least 1


def test_bitwise_deterministic_and_independent_of_load_order():
  first = _splits(glyphs_stream(**TINY, seed=3))
  reversed_order = _splits(glyphs_stream(**TINY, seed=3), order=tuple(reversed(SPLITS)))
  other_seed = _splits(glyphs_stream(**TINY, seed=4))
  for split in SPLITS:
    np.testing.assert_array_equal(first[split].images, reversed_order[split].images)
    np.testing.assert_array_equal(first[split].labels, reversed_order[split].labels)
    assert not np.array_equal(first[split].images, other_seed[split].images)
  # Splits are drawn from seeds of their own: they differ from each other...
  assert not np.array_equal(first["dev_test"].images[:6], first["test"].images[:6])


def test_one_split_s_size_never_shifts_another():
  few_dev = TINY | {"examples_per_class": {"train": 4, "dev": 1, "dev_test": 2, "test": 3}}
  many_dev = TINY | {"examples_per_class": {"train": 4, "dev": 5, "dev_test": 2, "test": 3}}
  a, b = _splits(glyphs_stream(**few_dev)), _splits(glyphs_stream(**many_dev))
  for split in ("train", "dev_test", "test"):
    np.testing.assert_array_equal(a[split].images, b[split].images)
  assert len(b["dev"]) == 5 * len(a["dev"])


def test_class_choice_all_and_tasks():
  everything = glyphs_stream(num_classes="all").tasks[0].info
  assert everything.num_classes == len(glyph_classes.CODE_POINTS) == 3603
  names = " ".join(everything.class_names)
  assert "DIGIT" not in names and not any(f"U+{d:04X} " in names for d in glyph_classes.DIGITS)
  # Tasks take disjoint classes while they fit, and independent draws when they do not.
  disjoint = glyphs_stream(num_tasks=3, num_classes=1000)
  sets = [set(t.info.class_names) for t in disjoint]
  assert [t.name for t in disjoint] == ["glyphs_0", "glyphs_1", "glyphs_2"]
  assert all(len(s) == 1000 for s in sets) and not (sets[0] & sets[1] or sets[1] & sets[2] or sets[0] & sets[2])
  overlapping = [set(t.info.class_names) for t in glyphs_stream(num_tasks=2, num_classes=3000)]
  assert all(len(s) == 3000 for s in overlapping) and overlapping[0] != overlapping[1]
  # The choice depends on the seed, and only on it.
  assert glyphs_stream(seed=1).tasks[0].info == glyphs_stream(seed=1).tasks[0].info
  assert glyphs_stream(seed=1).tasks[0].info != glyphs_stream(seed=2).tasks[0].info


def _ink_maps(images: np.ndarray) -> np.ndarray:
  # Colour and polarity are nuisances here: distance from the (background) median grey marks the glyph.
  grey = images.astype(np.float32).mean(-1).reshape(len(images), -1)
  ink = np.abs(grey - np.median(grey, axis=1, keepdims=True))
  return ink / (np.linalg.norm(ink, axis=1, keepdims=True) + 1e-6)


def test_classes_differ_more_than_examples_of_a_class():
  stream = glyphs_stream(num_classes=8, examples_per_class={"train": 10, "dev": 1, "dev_test": 1, "test": 5})
  train, test = stream.tasks[0].load_split("train"), stream.tasks[0].load_split("test")
  x_train, x_test = _ink_maps(train.images), _ink_maps(test.images)
  distance = np.linalg.norm(x_train[:, None] - x_train[None], axis=-1)
  same = (train.labels[:, None] == train.labels[None]) & ~np.eye(len(train), dtype=bool)
  different = train.labels[:, None] != train.labels[None]
  assert distance[different].mean() > 1.05 * distance[same].mean()  # 1.12 here, 1.11-1.13 over seeds 0-4
  # Nearest class mean on these maps: far above chance (1/8), yet not perfect with 10 examples a class.
  means = np.stack([x_train[train.labels == k].mean(0) for k in range(8)])
  predicted = np.argmin(((x_test[:, None] - means[None]) ** 2).sum(-1), axis=1)
  assert (predicted == test.labels).mean() >= 0.5  # 0.875 here, 0.68-0.93 over seeds 0-4
  # Raw pixels vary: colours, backgrounds and noise differ between examples of one class.
  assert len(np.unique(train.images.reshape(len(train), -1)[train.labels == 0], axis=0)) == 10


@pytest.mark.parametrize("options, message", [
    ({"num_clases": 5}, "unknown key 'num_clases' for stream_options (did you mean 'num_classes'?)"),
    ({"num_classes": 1}, "num_classes must be an integer in [2, 3603] or \"all\"; got 1"),
    ({"num_classes": 5000}, "num_classes must be an integer in [2, 3603]"),
    ({"num_classes": "most"}, "got 'most'"),
    ({"num_tasks": 0}, "num_tasks must be >= 1, got 0"),
    ({"image_size": 4}, "image_size must be >= 8, got 4"),
    ({"image_size": True}, "image_size must be an integer"),
    ({"seed": -1}, "seed must be >= 0, got -1"),
    ({"examples_per_class": 0}, "examples_per_class must be >= 1, got 0"),
    ({"examples_per_class": {"train": 3}}, "examples_per_class needs a count for each of"),
    ({"examples_per_class": {"train": 3, "dev": 1, "dev_test": 0, "test": 1}},
     "examples_per_class must have an integer count >= 1 for dev_test"),
])
def test_options_are_checked_with_one_line_errors(options, message):
  with pytest.raises(ConfigError) as error:
    glyphs_stream(**options)
  text = str(error.value)
  assert message in text and "\n" not in text and text.startswith("stream 'glyphs'")
