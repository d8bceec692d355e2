"""The glyphs stream's fonts and rasteriser: matplotlib's fonts found, glyphs centred, jitter applied."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nevis.streams import glyph_fonts
from nevis.streams.glyph_fonts import FONT_FILES, Jitter, render_masks


def _centroid(mask: np.ndarray) -> np.ndarray:
  rows, cols = np.indices(mask.shape)
  return np.array([(rows * mask).sum(), (cols * mask).sum()]) / mask.sum()


def _one(code_point=ord("A"), font=0, size=32, **jitter) -> np.ndarray:
  shaped = dataclasses.replace(Jitter.none(1), **{k: np.asarray([v]) for k, v in jitter.items()})
  return render_masks([code_point], [font], shaped, size)[0]


def test_sixteen_fonts_ship_with_matplotlib_and_all_draw_latin_letters():
  assert len(FONT_FILES) == 16
  assert all(glyph_fonts.font_path(i).is_file() for i in range(16))
  assert glyph_fonts.covering_fonts(ord("A")) == tuple(range(16))
  assert glyph_fonts.covering_fonts(0x10FFFD) == ()  # a private-use code point no font has
  assert isinstance(glyph_fonts.charmap(0), frozenset) and ord("z") in glyph_fonts.charmap(15)


def test_masks_are_float_coverage_and_a_glyph_is_centred_on_its_ink():
  masks = render_masks([ord("A"), ord("x")], [0, 12], Jitter.none(2), 24)
  assert masks.shape == (2, 24, 24) and masks.dtype == np.float32
  assert 0.0 <= masks.min() and masks.max() <= 1.0 and masks.max() > 0.9
  for mask in masks:
    np.testing.assert_allclose(_centroid(mask), [11.5, 11.5], atol=1.5)


def test_size_relative_to_the_em_is_kept():
  # 'o' is a small letter, 'O' a capital: without jitter the capital is clearly larger.
  small, capital = render_masks([ord("o"), ord("O")], [0, 0], Jitter.none(2), 32)
  assert capital.sum() > 1.4 * small.sum()


def test_each_jitter_moves_the_ink_as_it_says():
  plain = _one()
  assert _one(scale=1.15).sum() > 1.2 * plain.sum()
  assert _one(stroke=1).sum() > 1.1 * plain.sum() and _one(stroke=-1).sum() < plain.sum() / 1.1
  # Thinning would all but erase an outlined symbol (WHITE DIAMOND SUIT in DejaVu Serif Bold): it is kept.
  outlined = _one(0x2662, font=5)
  np.testing.assert_array_equal(_one(0x2662, font=5, stroke=-1), outlined)
  assert _centroid(_one(shift=[0.1, 0.0])) - _centroid(plain) == pytest.approx([0.0, 3.2], abs=0.3)  # 10% of 32
  # A quarter turn (clockwise on screen, y pointing down) matches numpy's rot90 three times counter-clockwise.
  turned = _one(rotation=np.pi / 2)
  errors = [np.abs(turned - np.rot90(plain, k)).mean() for k in range(4)]
  assert np.argmin(errors) == 3 and errors[3] < 0.3 * min(errors[:3])


def test_rendering_is_deterministic_and_long_glyphs_are_shrunk_to_fit():
  arrow = ord("\u27f6")  # LONG RIGHTWARDS ARROW: wider than the image at the stream's em size
  first, second = render_masks([arrow, arrow], [0, 0], Jitter.none(2), 32)
  np.testing.assert_array_equal(first, second)
  columns = np.flatnonzero(first.max(axis=0) > 0.5)
  assert columns.min() >= 1 and columns.max() <= 30
