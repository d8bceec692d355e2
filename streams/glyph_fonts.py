"""Fonts and rasterisation for the `glyphs` stream: TrueType fonts that ship inside matplotlib, rendered by PIL.

Only matplotlib's fonts are used, never the system's, so that the same installed packages give the same
images on every machine. Of its fonts, the sixteen with Unicode character maps and broad coverage are used:
DejaVu Sans, Serif and Sans Mono and STIX General, four styles each (regular, bold, italic or oblique, bold
italic). Left out: the Computer Modern fonts (cm*.ttf, whose character maps are TeX encodings, not Unicode),
STIX's NonUni (private-use code points) and Siz* (big variants of a few delimiters) fonts, the DejaVu
Display fonts (a few dozen glyphs) and LastResort (one placeholder box per Unicode block).

A glyph is drawn in white on black at twice the output size, cropped to its ink, then mapped into the output
by one affine transform (scale, aspect, shear, rotation, translation) with bilinear sampling, and averaged
over 2x2 blocks: a glyph's size relative to its font's em is kept (so 'o' stays smaller than 'O'), its
position is not (it is centred on its ink, then jittered).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np

from nevis.errors import DataError

FONT_FILES = tuple(
    f"{family}{style}.ttf"
    for family, styles in (
        ("DejaVuSans", ("", "-Bold", "-Oblique", "-BoldOblique")),
        ("DejaVuSerif", ("", "-Bold", "-Italic", "-BoldItalic")),
        ("DejaVuSansMono", ("", "-Bold", "-Oblique", "-BoldOblique")),
        ("STIXGeneral", ("", "Bol", "Italic", "BolIta")),
    )
    for style in styles
)
EM_FRACTION = 0.8  # the font's em as a fraction of the image side: capitals fill about 60% of it
FIT_FRACTION = 0.92  # glyphs wider or taller than this fraction of the side (long arrows) are shrunk to fit
SUPERSAMPLE = 2
ERODED_INK = 0.25  # thinning takes half a regular glyph's ink; what would keep less than this stays
MARGIN = 3  # pixels of black around a cropped glyph, so that dilation is not clipped


@functools.lru_cache(maxsize=1)
def font_dir() -> Path:
  """matplotlib's bundled TrueType folder, found without importing matplotlib."""
  spec = importlib.util.find_spec("matplotlib")
  if spec is None or not spec.submodule_search_locations:
    raise DataError("the glyphs stream renders matplotlib's fonts; run: pip install matplotlib")
  return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


def font_path(index: int) -> Path:
  path = font_dir() / FONT_FILES[index]
  if not path.is_file():
    raise DataError(f"the installed matplotlib lacks {path.name}, which the glyphs stream renders; reinstall it")
  return path


@functools.lru_cache(maxsize=None)
def charmap(index: int) -> frozenset[int]:
  """The code points that font `index` maps to a real glyph (not glyph 0, .notdef)."""
  from matplotlib import ft2font  # matplotlib's FreeType binding reads character maps; PIL's does not

  mapping = ft2font.FT2Font(str(font_path(index))).get_charmap()
  return frozenset(code for code, glyph in mapping.items() if glyph != 0)


def covering_fonts(code_point: int) -> tuple[int, ...]:
  """Indices into FONT_FILES of the fonts that have a glyph for `code_point`."""
  return tuple(i for i in range(len(FONT_FILES)) if code_point in charmap(i))


@functools.lru_cache(maxsize=None)
def _font(index: int, pixels: int):
  from PIL import ImageFont

  # The basic layout engine draws one glyph as the font has it; raqm (when installed) could shape it.
  return ImageFont.truetype(str(font_path(index)), pixels, layout_engine=ImageFont.Layout.BASIC)


def glyph_crop(code_point: int, font: int, image_size: int):
  """The glyph as a PIL "L" image cropped to its ink plus MARGIN, at SUPERSAMPLE times `image_size`."""
  from PIL import Image, ImageDraw

  face = _font(font, round(EM_FRACTION * SUPERSAMPLE * image_size))
  char = chr(code_point)
  left, top, right, bottom = face.getbbox(char)
  crop = Image.new("L", (right - left + 2 * MARGIN, bottom - top + 2 * MARGIN))
  ImageDraw.Draw(crop).text((MARGIN - left, MARGIN - top), char, font=face, fill=255)
  return crop


@dataclasses.dataclass(frozen=True)
class Jitter:
  """Per-example shape parameters, arrays of one length (angles in radians, translation in image sides)."""

  scale: np.ndarray
  aspect: np.ndarray  # log of width / height stretch
  shear: np.ndarray
  rotation: np.ndarray
  shift: np.ndarray  # (N, 2) x and y
  stroke: np.ndarray  # -1 thins (erosion, unless less than ERODED_INK would remain), 0 keeps, +1 thickens

  def take(self, part: slice) -> "Jitter":
    return Jitter(**{f.name: getattr(self, f.name)[part] for f in dataclasses.fields(self)})

  @staticmethod
  def none(count: int) -> "Jitter":
    zeros = np.zeros(count)
    return Jitter(np.ones(count), zeros, zeros, zeros, np.zeros((count, 2)), np.zeros(count, np.int8))


def render_masks(code_points: Sequence[int], fonts: Sequence[int], jitter: Jitter, image_size: int) -> np.ndarray:
  """(N, S, S) float32 ink coverage in [0, 1]: glyph `code_points[i]` in font `fonts[i]`, shaped by jitter i."""
  from PIL import Image, ImageFilter

  big = SUPERSAMPLE * image_size
  count = len(code_points)
  # Forward maps (crop -> image, before shrinking to fit): rotation @ shear @ diag(scale * stretch, scale / stretch).
  cos, sin = np.cos(jitter.rotation), np.sin(jitter.rotation)
  rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
  shear = np.zeros((count, 2, 2))
  shear[:, 0, 0] = shear[:, 1, 1] = 1.0
  shear[:, 0, 1] = jitter.shear
  stretch = np.exp(jitter.aspect)
  axes = np.zeros((count, 2, 2))
  axes[:, 0, 0] = jitter.scale * stretch
  axes[:, 1, 1] = jitter.scale / stretch
  inverses = np.linalg.inv(rotation @ shear @ axes) if count else np.zeros((0, 2, 2))
  centres_out = big / 2 + big * np.asarray(jitter.shift, np.float64).reshape(count, 2)
  pixels = np.empty((count, big, big), np.uint8)
  for i, (code_point, font) in enumerate(zip(code_points, fonts)):
    crop = glyph_crop(int(code_point), int(font), image_size)
    if jitter.stroke[i] > 0:
      crop = crop.filter(ImageFilter.MaxFilter(3))
    elif jitter.stroke[i] < 0:
      thinner = crop.filter(ImageFilter.MinFilter(3))
      # Outlined symbols and hairlines would all but vanish: those stay as drawn.
      if np.asarray(thinner, np.float32).sum() >= ERODED_INK * np.asarray(crop, np.float32).sum():
        crop = thinner
    ink = max(crop.width, crop.height) - 2 * MARGIN
    inverse = inverses[i] / min(1.0, FIT_FRACTION * big / max(ink, 1))
    offset = np.array([crop.width / 2, crop.height / 2]) - inverse @ centres_out[i]
    coefficients = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    shaped = crop.transform((big, big), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR)
    pixels[i] = np.asarray(shaped)
  blocks = pixels.reshape(count, image_size, SUPERSAMPLE, image_size, SUPERSAMPLE)
  return blocks.mean(axis=(2, 4), dtype=np.float32) / np.float32(255.0)
