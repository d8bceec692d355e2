"""`glyphs`: procedurally rendered character-classification tasks, for meta-pretraining in-context learners.

The `icl` learner is meta-pretrained on k-shot episodes drawn from a task's training split, so a pretraining
task needs many classes and a distribution disjoint from the evaluation stream. Here a class is one Unicode
character (3,603 of them: Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic, Lao, N'Ko, Tifinagh,
Lisu, Canadian syllabics, Old Italic, IPA, math operators, arrows, box drawing and blocks, geometric shapes,
dingbats, Braille, I Ching hexagrams, Tai Xuan Jing tetragrams, dominoes, emoticons; `glyph_classes` says how
they were chosen). An example is its character drawn in one of the (2 to 16) fonts that have it, chosen at
random among matplotlib's DejaVu and STIX families (`glyph_fonts`), with random size (+-15%), aspect (+-15%),
shear (+-0.2), rotation (+-10 degrees), position (+-8% of the side) and stroke (thinned by erosion, kept or
thickened by dilation), as foreground over a background of a random colour or grey, dark on light or light
on dark, with a linear ramp, low-frequency blotches and pixel noise. Images are RGB uint8 (N, S, S, 3),
S = `image_size` (32 by default, `mini`'s storage size).

Disjoint from `mini` and NEVIS'22: nothing is read but fonts, so no image of either stream is seen, and
no class is a digit or a character drawn like a digit (the digit-exclusion rule in `glyph_classes`), since
four of `mini`'s six tasks (MNIST, UCI digits, MNIST-m, MNIST-rot) and many of NEVIS'22's classify digits.
Other NEVIS'22 tasks do classify letters (Chars74K, EMNIST: Latin letters, some of them font-rendered;
CASIA-HWDB: handwritten Chinese, which no font here has): their label sets meet this stream's Latin
letters, though never their images.

Options: `num_tasks` (1) tasks, each of `num_classes` (1000, or "all") characters, disjoint across tasks
when there are enough of them, else drawn independently per task; `examples_per_class` (20: the train count,
dev, dev_test and test get a quarter, at least 1; or a count for every split); `image_size`; `seed`.
Every task's year is 1990, a dummy before NEVIS'22's first (1992): the tasks are not a timeline.

Everything is a pure function of the options and of the installed matplotlib (its fonts) and Pillow (its
FreeType): the same options give bitwise the same arrays, and each split is drawn from its own seed, so
loading one split never shifts another. Splits are rendered when loaded, at about 5,000 examples a second
on one core (4 s for the default task's 20,000 training examples, 1 s for each other split; 15 s and 220 MB
for all 3,603 classes), and are not cached, in memory or on disk: a run loads each split once, and a few
seconds a run are not worth a store entry and its invalidation rules.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nevis.errors import DataError
from nevis.options import Options, option
from nevis.registry import register_stream
from nevis.stream import Stream
from nevis.streams import generated, glyph_classes, glyph_fonts
from nevis.task import SplitData, Task, TaskInfo, TaskKind

YEAR = 1990
DEFAULT_CLASSES = 1000
DEFAULT_TRAIN_PER_CLASS = 20

# Jitter and colour ranges (see the module docstring).
SCALE = 0.15  # log-uniform: x0.86 .. x1.16
ASPECT = 0.15
SHEAR = 0.2
ROTATION_DEGREES = 10.0
SHIFT = 0.08
STROKE_PROBABILITIES = (0.15, 0.55, 0.30)  # thinner, as drawn, thicker
GREY_FRACTION = 0.4
DARK = (0.0, 110.0)  # the dark side's channel range
LIGHT = (145.0, 255.0)  # the light side's: dark and light never meet, so every glyph is visible
RAMP = 30.0
BLOTCH = 15.0
BLOTCH_GRID = 4
NOISE = 10.0
CHUNK = 2048


@dataclasses.dataclass(frozen=True)
class _Generator:
  """Task.load_split of one glyphs task (picklable)."""

  task_index: int
  code_points: tuple[int, ...]
  image_size: int
  examples_per_class: tuple[tuple[str, int], ...]
  seed: int

  def __call__(self, split: str) -> SplitData:
    rng = generated.split_rng(self.seed, self.task_index, split)
    per_class = dict(self.examples_per_class)[split]
    labels = rng.permutation(np.repeat(np.arange(len(self.code_points), dtype=np.int32), per_class))
    count = len(labels)
    fonts_of = [glyph_classes.fonts_for(c) for c in self.code_points]
    for code_point, fonts in zip(self.code_points, fonts_of):
      if not fonts:  # the class list is fixed; the installed fonts may have changed under it
        raise DataError(f"no font of the installed matplotlib has {glyph_classes.class_name(code_point)}, a "
                        f"class of the glyphs stream; install matplotlib {glyph_classes.BUILT_WITH['matplotlib']}")
    which = rng.random(count)
    fonts = np.array([fonts_of[label][int(u * len(fonts_of[label]))] for label, u in zip(labels, which)])
    code_points = np.array(self.code_points)[labels]
    jitter = _jitter(rng, count)
    colours = _Colours.draw(rng, count)
    # Rendered and coloured in chunks of a fixed size, to bound memory; the per-pixel noise of each chunk
    # comes from the same generator in turn, so the chunk size is part of the recipe.
    images = np.empty((count, self.image_size, self.image_size, 3), np.uint8)
    for start in range(0, count, CHUNK):
      part = slice(start, start + CHUNK)
      masks = glyph_fonts.render_masks(code_points[part], fonts[part], jitter.take(part), self.image_size)
      images[part] = _colourise(rng, masks, colours.take(part))
    images.setflags(write=False)
    labels.setflags(write=False)
    return SplitData(images, labels)


def _jitter(rng: np.random.Generator, count: int) -> glyph_fonts.Jitter:
  return glyph_fonts.Jitter(
      scale=np.exp(rng.uniform(-SCALE, SCALE, count)),
      aspect=rng.uniform(-ASPECT, ASPECT, count),
      shear=rng.uniform(-SHEAR, SHEAR, count),
      rotation=np.deg2rad(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES, count)),
      shift=rng.uniform(-SHIFT, SHIFT, (count, 2)),
      stroke=(rng.choice(3, count, p=STROKE_PROBABILITIES) - 1).astype(np.int8),
  )


@dataclasses.dataclass(frozen=True)
class _Colours:
  """Per-example colour parameters (arrays of one length)."""

  foreground: np.ndarray  # (N, 3)
  background: np.ndarray  # (N, 3)
  light_background: np.ndarray  # (N,) bool
  ramp_angle: np.ndarray
  ramp_height: np.ndarray
  blotch_std: np.ndarray
  noise_std: np.ndarray

  @staticmethod
  def draw(rng: np.random.Generator, count: int) -> "_Colours":
    dark = rng.uniform(*DARK, (count, 3))
    light = rng.uniform(*LIGHT, (count, 3))
    grey = rng.random(count) < GREY_FRACTION
    dark[grey] = dark[grey, :1]
    light[grey] = light[grey, :1]
    light_background = rng.random(count) < 0.5
    return _Colours(
        foreground=np.where(light_background[:, None], dark, light),
        background=np.where(light_background[:, None], light, dark),
        light_background=light_background,
        ramp_angle=rng.uniform(0.0, 2 * np.pi, count),
        ramp_height=rng.uniform(0.0, RAMP, count),
        blotch_std=rng.uniform(0.0, BLOTCH, count),
        noise_std=rng.uniform(0.0, NOISE, count),
    )

  def take(self, part: slice) -> "_Colours":
    return _Colours(**{f.name: getattr(self, f.name)[part] for f in dataclasses.fields(self)})


def _colourise(rng: np.random.Generator, masks: np.ndarray, colours: _Colours) -> np.ndarray:
  """(N, S, S, 3) uint8: foreground colour where the mask inks, a textured background elsewhere."""
  count, size = masks.shape[:2]
  # Channels first, float32: the arrays are large. The background is its colour plus a ramp in a random
  # direction plus a bilinear blow-up of a coarse random grid, clipped to its side of the dark/light divide
  # so that no background pixel takes the foreground's range.
  axis = ((np.arange(size, dtype=np.float32) + 0.5) / size - 0.5)
  cos, sin = np.cos(colours.ramp_angle), np.sin(colours.ramp_angle)
  ramp = colours.ramp_height[:, None, None] * (cos[:, None, None] * axis[None, None, :]
                                               + sin[:, None, None] * axis[None, :, None])
  coarse = rng.standard_normal((count, 3, BLOTCH_GRID, BLOTCH_GRID), dtype=np.float32)
  upsample = _bilinear_matrix(BLOTCH_GRID, size).astype(np.float32)
  blotches = upsample @ coarse @ upsample.T * colours.blotch_std[:, None, None, None].astype(np.float32)
  field = blotches + (colours.background[:, :, None, None] + ramp[:, None]).astype(np.float32)
  low = np.where(colours.light_background, LIGHT[0], DARK[0]).astype(np.float32)[:, None, None, None]
  high = np.where(colours.light_background, LIGHT[1], DARK[1]).astype(np.float32)[:, None, None, None]
  np.clip(field, low, high, out=field)
  ink = masks[:, None]
  field += (colours.foreground[:, :, None, None].astype(np.float32) - field) * ink
  noise = rng.standard_normal(field.shape, dtype=np.float32)
  field += noise * colours.noise_std[:, None, None, None].astype(np.float32)
  return np.clip(np.round(field), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def _bilinear_matrix(coarse: int, fine: int) -> np.ndarray:
  """(fine, coarse) weights that interpolate a coarse grid's values at the fine grid's pixel centres."""
  position = np.clip((np.arange(fine) + 0.5) * coarse / fine - 0.5, 0, coarse - 1)
  lower = np.minimum(np.floor(position).astype(int), coarse - 2)  # coarse >= 2
  weights = np.zeros((fine, coarse))
  upper_weight = position - lower
  weights[np.arange(fine), lower] = 1.0 - upper_weight
  weights[np.arange(fine), lower + 1] = upper_weight
  return weights


def task_classes(num_tasks: int, num_classes: int, seed: int) -> list[tuple[int, ...]]:
  """Each task's code points, sorted: disjoint slices of one seeded shuffle when they fit, else per-task draws."""
  pool = np.array(glyph_classes.CODE_POINTS)
  if num_tasks * num_classes <= len(pool):
    order = np.random.default_rng([seed]).permutation(len(pool))
    chosen = [order[t * num_classes:(t + 1) * num_classes] for t in range(num_tasks)]
  else:
    # generated.split_rng seeds splits with [seed, task, 1 + split]: a last entry of 0 is free for this draw.
    chosen = [np.random.default_rng([seed, t, 0]).choice(len(pool), num_classes, replace=False)
              for t in range(num_tasks)]
  return [tuple(int(c) for c in np.sort(pool[index])) for index in chosen]


@dataclasses.dataclass(frozen=True)
class GlyphsOptions(Options):
  num_tasks: int = option(1, "tasks, of disjoint characters when there are enough of them", minimum=1)
  num_classes: int | str = option(DEFAULT_CLASSES, f'characters per task, 2 to {len(glyph_classes.CODE_POINTS)}, '
                                                   'or "all"')
  examples_per_class: int | dict = option(DEFAULT_TRAIN_PER_CLASS,
                                          generated.EXAMPLES_PER_CLASS_DOC.format("a quarter of it, at least 1"),
                                          minimum=1)
  image_size: int = option(32, "side of the square images, in pixels", minimum=8, maximum=512)
  seed: int = option(0, "seed of the characters chosen and of their renderings", minimum=0)

  def check(self) -> None:
    available = len(glyph_classes.CODE_POINTS)
    if self.num_classes != "all" and not (isinstance(self.num_classes, int) and 2 <= self.num_classes <= available):
      self.fail("num_classes", f'must be an integer in [2, {available}] or "all"')
    generated.check_examples_per_class(self)


@register_stream("glyphs", options=GlyphsOptions)
def glyphs_stream(options: GlyphsOptions) -> Stream:
  """Rendered characters of many scripts and symbol sets, thousands of classes, for meta-pretraining."""
  num_tasks, image_size, seed = options.num_tasks, options.image_size, options.seed
  num_classes = len(glyph_classes.CODE_POINTS) if options.num_classes == "all" else options.num_classes
  per_class = generated.examples_per_class(options.examples_per_class, 4)
  tasks = []
  for index, code_points in enumerate(task_classes(num_tasks, num_classes, seed)):
    name = f"glyphs_{index}"
    info = TaskInfo(
        name=name,
        dataset=name,
        year=YEAR,
        kind=TaskKind.SINGLE_LABEL,
        class_names=tuple(glyph_classes.class_name(c) for c in code_points),
        image_shape=(image_size, image_size, 3),
        display_name=f"Glyphs {index} ({num_classes} characters)",
        source="procedural:glyphs",
    )
    tasks.append(Task(info, _Generator(index, code_points, image_size, tuple(per_class.items()), seed)))
  return Stream("glyphs", tuple(tasks))
