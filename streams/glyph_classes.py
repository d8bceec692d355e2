"""The classes of the `glyphs` stream: which Unicode characters, and the rules that chose them.

The list is fixed in this file (`CODE_POINTS`), so that the stream's classes do not change with the installed
fonts or FreeType; `python -m nevis.streams.glyph_classes` rebuilds it from matplotlib's fonts by the rules
below and prints it, to be pasted here when the rules change. A character is a class when

1. by its Unicode data: it is assigned and named; a letter (not a modifier letter), a symbol or a punctuation
   mark, never a number (categories Nd, Nl, No), a combining mark, a space or a control; it has no canonical
   or compatibility decomposition (no accented precomposed letters, ligatures, fullwidth or superscript
   forms: they are near-copies of their base characters); its name says neither that it is a number (DIGIT,
   NUMERAL, FRACTION) nor that it is shaped as or drawn with one (`_EXCLUDED_NAME_PARTS`: playing cards
   show their rank, the cube root a 3; the tone letters two, five and six are a 2, a 5 and a 6, the ezh
   and yogh a 3, the Coptic shima a 6);
2. at least two of the stream's fonts have it, and every font that has it draws it at least MIN_INK_PIXELS
   across at 32 px (so any of them can draw an example);
3. it is not a digit look-alike: in no font is it nearer a digit 0-9 than the two nearest distinct digits
   are in any font, by either of two measures: as drawn (0.41, DejaVu Sans Mono Bold's 0 and 8) and with
   both scaled to fill the same square (`shapes`; 0.38). This drops O, I, l, S, B, D, g, the Cyrillic Ze
   З (which DejaVu Sans Mono draws as its 3) and Be б (an italic 6), thetas and barred O's (a slashed
   zero), the ezh ʒ and reversed open e ɜ (a 3), the cuatrillo ꜭ (a 4) and a few dozen more;
4. it is not a homoglyph of a lower code point already kept: in no font drawing both is it within
   HOMOGLYPH_DISTANCE of it (Latin A, Greek Alpha and Cyrillic A are one glyph in DejaVu; Latin A is kept).

Distances are between canonical renderings (no jitter) at 32 px as `glyph_fonts.render_masks` draws them,
RMS of the difference over the RMS of the two: 0 for equal images, about 1.4 for disjoint strokes. Rule 3
and 1 together are the digit-exclusion rule: the `mini` evaluation stream is mostly digit classes (MNIST,
UCI digits, MNIST-m, MNIST-rot), so a learner pretrained here has never been taught a digit class.
"""
from __future__ import annotations

import functools
import unicodedata

import numpy as np

from nevis.streams import glyph_fonts

MIN_FONTS = 2
MIN_INK_PIXELS = 6  # at 32 px: drops dots, commas, accents and other marks too small to be a class
HOMOGLYPH_DISTANCE = 0.12
CHECK_SIZE = 32
DIGITS = tuple(range(ord("0"), ord("9") + 1))
# Named as or drawn with a digit: the tone letters two, five and six are shaped as 2, 5 and 6, the ezh, yogh
# and turned open e as a 3, the shima as a 6; a cube root carries a 3, a playing card its rank.
_EXCLUDED_NAME_PARTS = ("DIGIT", "NUMERAL", "FRACTION", "PLAYING CARD", "LETTER TWO", "TONE TWO", "TONE FIVE",
                        "TONE SIX", "LETTER EZH", "CAPITAL EZH", "YOGH", "TURNED OPEN E", "SHIMA", "CUBE ROOT",
                        "FOURTH ROOT", "SUBSCRIPT", "SUPERSCRIPT", "PER TEN THOUSAND")

# Built by `python -m nevis.streams.glyph_classes` with these versions (the fonts are matplotlib's, FreeType
# draws them): 3603 hex code points and ranges.
BUILT_WITH = {"matplotlib": "3.11.2", "freetype2": "2.14.3"}
_CODE_POINT_RANGES = """
21-2B 2D 2F 3A-41 43 45-46 48 4A-4E 50-52 54-5F 61-66 68
6A-6B 6D-7E A1-A7 A9 AB-AC AE B0-B1 B6 BB BF C6 D7
DE E6 F0 F7-F8 FE 111 126-127 138 141 14A 152-153 166-167
180-181 183 186-188 18A-18C 190-199 19B-19E 1A2-1A6 1A9-1AE 1B1-1B6 1BE-1C2 1DD 1E4
1F6-1F7 220-221 223-225 234-24B 24D-258 25A-25B 25D-260 262-268 26D-291 294-2AF 2C2-2C5 2D2-2D5
2DE-2DF 2E5-2E9 2ED 2EF-2F0 2F7 370-373 376-377 37C-37D 393-394 39E 3A0 3A6
3A8-3A9 3B2-3B3 3B6 3B9 3BB-3BE 3C0-3C9 3CF 3D7-3DB 3DD-3E7 3EA-3EB 3EE-3EF 3F6
3FA-3FC 3FE-3FF 402 404 409-40B 40F 414 416 41B 423 426-42C 42E-42F
433-434 436 43B-43C 444 446-44C 44E-44F 452 454 459-45B 45F-460 462-471 474-475
478-482 48A-4AD 4AF-4BA 4BC-4BF 4C3-4CE 4E0 4F6-4F7 4FA-509 50B-50F 512-519 51E-525 531-544
546-547 549-54C 54E 550 552-554 556 55A 55C 55E-55F 562-567 569-56B 56D-56F
571-574 576 579 57B-57C 57E-580 582-584 586 58A 5BE 5C0 5C6 5D0-5DE
5E0-5EA 5F0-5F2 5F4 609 60C 61B 61F 621 628-637 639-63A 641-64A 66A-66B
66D-66F 679-6BF 6C6-6C8 6CB 6CE 6D0 7CB-7E7 7F8-7F9 E3F E81-E82 E84 E87-E88
E8A E8D E94-E97 E99-E9F EA1-EA3 EA5 EA7 EAA-EAB EAD-EB0 EB2 EBD EC0-EC4
10A0-10C5 10D0-10D4 10D6-10D7 10D9-10DB 10DD-10E6 10E8-10E9 10EB-10F4 10F6-10FB 1401-1402 1404-1407 1409-141B 141E-1426
1428-142E 1430 1432-1435 1437-144A 144D-1452 1454-14A4 14A6-14A9 14AB-14BD 14C0-14EA 14EC-1507 1510-153E 1541-1550
1552-156A 1574-157B 157E-1585 158A-1596 15A0-15AF 15DE 15E1 1646-1647 166E-1676 1681-169C 1D00-1D03 1D05-1D07
1D09-1D0A 1D0C 1D11-1D1F 1D24-1D25 1D2A 1D6B 1D7B-1D7F 1D85 1E9C-1E9E 1EFA-1EFB 2012 2016
201C-2023 2030 2038-203B 203D 203F-2043 2045-2046 204A-2056 2058-205E 20A0-20A7 20A9-20B5 20B8-20BA 20BD
2104 2108 2114 2117-2118 211E-211F 2123 2125 2129 212E 2132 213A 2141-2142
2144 214B 214E 2190-2199 219C-21AD 21AF-21CC 21D0-2203 2205 2207-2208 220A-220B 220D-2214 2216-2218
221A 221D-2222 2225 2227-222B 222E 2231-2232 2234-223B 223D-2240 2242-2243 2245-2246 2248 224A-225F
2261 2263-226C 2272-2273 2276-2277 227A-227F 2282-2283 2286-2287 228A-22AB 22B0-22C4 22C6-22DF 22E4-22E9 22EE-22FF
2301-2315 2318-2319 231C-2328 232B-232C 2335-236B 236D-2372 2376-237A 237D 2380-2383 2387-238B 2394-2395 239B-23A1
23A3-23A4 23A6-23AD 23AF 23CE-23CF 23E3 23E5 23E8 2422-2423 2500-259F 25A1-25B0 25B2-25FE 2600-2603
2605-261B 261D 261F-269C 269E-26B8 26C0-26C3 26E2 2701-2704 2706-2709 270C-2727 2729-274B 274D 274F-2750
2756 2759-275E 2761-2775 2794 2798-27AF 27B1-27BE 27C5-27C6 27C8-27C9 27DC 27E0 27E6-27EB 27F0-27FF
2803 2805-2807 2809-280F 2811-281F 2821-283F 2841-287F 2881-2912 2914-2954 2956-2958 295A-2980 2983-2984 2987-2988
2997-2998 29B6-29B8 29C0-29C1 29C4-29C7 29CE-29D5 29EB 29FA-29FB 2A00-2A02 2A0D-2A1C 2A22-2A26 2A2A-2A2B 2A30-2A32
2A3F 2A5E 2A63 2A66-2A67 2A6A-2A6B 2A6D-2A73 2A7D-2AA0 2AAE-2ABA 2ABD-2ABE 2AC5-2AC6 2AF9-2AFA 2B00-2B1A
2B1F-2B24 2B53-2B54 2C60-2C66 2C68-2C6C 2C6E 2C71-2C74 2C77 2C79 2C7B 2C7E-2C7F 2D00-2D25 2D30-2D36
2D3B-2D48 2D4B-2D4C 2D4E 2D50-2D5C 2D5E-2D5F 2D61-2D65 2E18 2E1F 2E22-2E25 4DC0-4DFF A4D2 A4D5
A4D8-A4D9 A4E2 A4E4 A4E9 A4ED A4F1 A4F3 A4FE-A4FF A644-A645 A64C-A64D A650-A651 A654-A657
A662-A667 A669-A66E A68A-A68C A694 A708-A716 A722-A725 A727-A729 A72B A72E-A730 A732-A73D A746-A74B A74E-A753
A756-A757 A764-A769 A77B-A77C A782-A784 A786-A787 A78A-A78B A78E A790-A791 A7A0-A7AA A7FB-A7FD A7FF FFFD
10300 10302-10306 10308-1031E 1D300-1D356 1F030-1F093 1F42D-1F42E 1F431 1F435 1F600-1F623 1F625-1F62B 1F62D-1F640
"""


def _parse(text: str) -> tuple[int, ...]:
  code_points = []
  for token in text.split():
    first, _, last = token.partition("-")
    code_points.extend(range(int(first, 16), int(last or first, 16) + 1))
  return tuple(code_points)


CODE_POINTS: tuple[int, ...] = _parse(_CODE_POINT_RANGES)


def installed_versions() -> dict[str, str]:
  """The versions that `build` depends on, as in BUILT_WITH."""
  import importlib.metadata

  from PIL import features

  return {"matplotlib": importlib.metadata.version("matplotlib"), "freetype2": features.version("freetype2")}


def class_name(code_point: int) -> str:
  """'U+05D0 HEBREW LETTER ALEF'."""
  return f"U+{code_point:04X} {unicodedata.name(chr(code_point))}"


def unicode_eligible(code_point: int) -> bool:
  """Rule 1 of the module docstring: Unicode data alone."""
  char = chr(code_point)
  name = unicodedata.name(char, "")
  category = unicodedata.category(char)
  return (
      bool(name)
      and category[0] in "LSP" and category != "Lm"
      and unicodedata.normalize("NFKC", char) == char
      and unicodedata.normalize("NFD", char) == char
      and not any(part in name for part in _EXCLUDED_NAME_PARTS)
  )


def ink_extent(mask: np.ndarray) -> int:
  """The larger side, in pixels, of the box around a mask's pixels at least half inked."""
  rows, cols = np.nonzero(mask >= 0.5)
  if len(rows) == 0:
    return 0
  return int(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """(len(a), len(b)) normalised distances between (N, S, S) masks (see the module docstring)."""
  a = a.reshape(len(a), -1).astype(np.float64)
  b = b.reshape(len(b), -1).astype(np.float64)
  a2, b2 = (a * a).sum(1)[:, None], (b * b).sum(1)[None, :]
  squared = np.maximum(a2 + b2 - 2.0 * a @ b.T, 0.0)
  return np.sqrt(squared / np.maximum((a2 + b2) / 2.0, 1e-12))


def shapes(masks: np.ndarray, side: int = 16) -> np.ndarray:
  """(N, side, side) masks cropped to their ink and scaled, keeping their aspect, to fill the square."""
  from PIL import Image

  out = np.zeros((len(masks), side, side), np.float32)
  for i, mask in enumerate(masks):
    rows, cols = np.nonzero(mask >= 0.2)
    if len(rows) == 0:
      continue
    crop = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    height, width = crop.shape
    square = np.zeros((max(height, width),) * 2, np.float32)
    top, left = (len(square) - height) // 2, (len(square) - width) // 2
    square[top:top + height, left:left + width] = crop
    out[i] = np.asarray(Image.fromarray(square).resize((side, side), Image.Resampling.BOX))
  return out


def canonical_masks(code_points, font: int, size: int = CHECK_SIZE) -> np.ndarray:
  return glyph_fonts.render_masks(code_points, [font] * len(code_points), glyph_fonts.Jitter.none(len(code_points)),
                                  size)


def build() -> tuple[int, ...]:
  """The class list by rules 1-4 of the module docstring, from the installed fonts (a few seconds)."""
  fonts = range(len(glyph_fonts.FONT_FILES))
  candidates = sorted({c for f in fonts for c in glyph_fonts.charmap(f) if unicode_eligible(c)})
  # Rule 2: every font that has a candidate draws it big enough, and two fonts at least have it.
  drawn: dict[int, tuple[np.ndarray, np.ndarray]] = {}
  too_small: set[int] = set()
  for font in fonts:
    covered = [c for c in candidates if c in glyph_fonts.charmap(font)]
    drawn[font] = (np.array(covered, np.int64), canonical_masks(covered, font))
    too_small.update(c for c, m in zip(covered, drawn[font][1]) if ink_extent(m) < MIN_INK_PIXELS)
  kept = {c for c in candidates if len(glyph_fonts.covering_fonts(c)) >= MIN_FONTS} - too_small
  # Rule 3: the threshold of each measure is the nearest two distinct digits come in any font.
  digit_masks = {font: canonical_masks(DIGITS, font) for font in fonts}
  measures = (lambda m: m, shapes)
  thresholds = [min(_off_diagonal_min(distances(measure(d), measure(d))) for d in digit_masks.values())
                for measure in measures]
  confusable: dict[int, set[int]] = {}
  for font in fonts:
    code_points, masks = drawn[font]
    for measure, threshold in zip(measures, thresholds):
      near_digit = distances(measure(masks), measure(digit_masks[font])).min(axis=1) < threshold
      kept -= set(code_points[near_digit].tolist())
    # Rule 4, a pair is confusable if it is in any font drawing both.
    for start in range(0, len(code_points), 512):  # in chunks: a full matrix of one font is ~100 MB
      close = distances(masks[start:start + 512], masks) < HOMOGLYPH_DISTANCE
      for i, j in zip(*np.nonzero(close)):
        a, b = int(code_points[start + i]), int(code_points[j])
        if a < b:
          confusable.setdefault(b, set()).add(a)
  chosen: list[int] = []
  chosen_set: set[int] = set()
  for c in sorted(kept):
    if not confusable.get(c, set()) & chosen_set:
      chosen.append(c)
      chosen_set.add(c)
  return tuple(chosen)


def _off_diagonal_min(matrix: np.ndarray) -> float:
  return float(np.min(matrix + np.diag(np.full(len(matrix), np.inf))))


def format_ranges(code_points) -> str:
  """Sorted code points as hex tokens ('41-5A'), several to a line."""
  runs: list[list[int]] = []
  for c in sorted(code_points):
    if runs and c == runs[-1][1] + 1:
      runs[-1][1] = c
    else:
      runs.append([c, c])
  tokens = [f"{a:X}" if a == b else f"{a:X}-{b:X}" for a, b in runs]
  return "\n".join(" ".join(tokens[i:i + 12]) for i in range(0, len(tokens), 12))


@functools.lru_cache(maxsize=None)
def fonts_for(code_point: int) -> tuple[int, ...]:
  """The stream's fonts that draw `code_point` (indices into glyph_fonts.FONT_FILES)."""
  return glyph_fonts.covering_fonts(code_point)


if __name__ == "__main__":
  built = build()
  print(f"# {len(built)} classes, built with {installed_versions()}")
  print(format_ranges(built))
