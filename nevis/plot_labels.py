"""Text in `nevis plot` that must not collide: point labels placed greedily around their points, and tick
labels that rotate, shrink and thin out until neighbours no longer overlap. Both measure the rendered text
(matplotlib's renderer), so what they promise is what the saved picture shows."""
from __future__ import annotations

import numpy as np

# Offsets of a label from its point, in points, tried in order (then at 2x and 3x the distance).
_AROUND = ((7, 6, "left", "bottom"), (7, -6, "left", "top"), (-7, 6, "right", "bottom"), (-7, -6, "right", "top"),
           (0, 10, "center", "bottom"), (0, -10, "center", "top"), (10, 0, "left", "center"),
           (-10, 0, "right", "center"))
_MARKER_PX = 6.0  # half the side of the box kept clear around every point, in pixels
_GAP_PX = 3.0  # kept clear around every label, in pixels


def place_point_labels(ax, labels: list[tuple[float, float, str, str]], obstacles=()) -> list:
  """Annotates each (x, y, text, colour) near its point, where it overlaps no other label, no point of
  `labels` and no box of `obstacles` (display-space Bboxes), inside the axes; an arrow joins labels put
  further away. Returns the annotations."""
  from matplotlib.transforms import Bbox

  fig = ax.figure
  renderer = fig.canvas.get_renderer()
  inside = ax.get_window_extent(renderer)
  points = [ax.transData.transform((x, y)) for x, y, _, _ in labels]
  taken = [Bbox.from_extents(px - _MARKER_PX, py - _MARKER_PX, px + _MARKER_PX, py + _MARKER_PX) for px, py in points]
  taken += list(obstacles)
  placed = []
  for x, y, text, colour in sorted(labels, key=lambda item: (item[0], item[1])):
    best = None  # (how much it collides, the annotation)
    for dx, dy, ha, va, arrow in _candidates(ax, renderer, (x, y)):
      note = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=8,
                         color=colour, arrowprops=dict(arrowstyle="-", color=colour, lw=0.6) if arrow else None)
      box = note.get_window_extent(renderer)
      clear = Bbox.from_extents(box.x0 - _GAP_PX, box.y0 - _GAP_PX, box.x1 + _GAP_PX, box.y1 + _GAP_PX)
      cost = _outside(box, inside) + sum(_overlap(clear, other) for other in taken)
      if best is None or cost < best[0]:
        if best is not None:
          best[1].remove()
        best = (cost, note)
      else:
        note.remove()
      if cost == 0:
        break
    taken.append(best[1].get_window_extent(renderer))
    placed.append(best[1])
  return placed


def _candidates(ax, renderer, point):
  """(dx, dy, ha, va, arrow) offsets in points: around the point, further out, then across the axes."""
  for scale in (1, 2, 3, 4.5):
    for dx, dy, ha, va in _AROUND:
      yield dx * scale, dy * scale, ha, va, scale > 1
  # Anywhere in the axes, nearest first, joined to the point by a line.
  px, py = ax.transData.transform(point)
  box = ax.get_window_extent(renderer)
  to_points = 72.0 / ax.figure.dpi
  spots = [(box.x0 + box.width * fx, box.y0 + box.height * fy) for fx in np.linspace(0.05, 0.95, 10)
           for fy in np.linspace(0.05, 0.95, 10)]
  spots.sort(key=lambda s: (s[0] - px) ** 2 + (s[1] - py) ** 2)
  for sx, sy in spots:
    yield (sx - px) * to_points, (sy - py) * to_points, "center", "center", True


def _outside(box, outer) -> float:
  """Area of `box` outside `outer`, in square pixels."""
  return box.width * box.height - _overlap(box, outer)


def _overlap(a, b) -> float:
  width = min(a.x1, b.x1) - max(a.x0, b.x0)
  height = min(a.y1, b.y1) - max(a.y0, b.y0)
  return max(width, 0.0) * max(height, 0.0)


def fit_tick_labels(ax, positions: list[float], labels: list[str]) -> dict:
  """Sets the x tick labels, horizontal if they fit, else vertical and smaller, else every k-th one;
  returns what was chosen ({"rotation", "fontsize", "every"})."""
  fig = ax.figure
  ax.set_xticks(positions)
  for rotation, size in ((0, 8), (90, 8), (90, 7), (90, 6)):
    if _ticks_fit(ax, fig, labels, rotation, size):
      return {"rotation": rotation, "fontsize": size, "every": 1}
  # Every k-th label: k from the measured widths and spacing, then up until they fit.
  boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
  spacing = (boxes[-1].x0 - boxes[0].x0) / max(len(boxes) - 1, 1) if len(boxes) > 1 else 1.0
  every = max(2, int(np.ceil((max(b.width for b in boxes) + 2.0) / max(spacing, 1e-9))))
  while every < len(labels):
    shown = [label if i % every == 0 else "" for i, label in enumerate(labels)]
    if _ticks_fit(ax, fig, shown, 90, 6):
      return {"rotation": 90, "fontsize": 6, "every": every}
    every += 1
  _ticks_fit(ax, fig, [labels[0]] + [""] * (len(labels) - 1), 90, 6)
  return {"rotation": 90, "fontsize": 6, "every": len(labels)}


def _ticks_fit(ax, fig, labels: list[str], rotation: int, size: float) -> bool:
  ax.set_xticklabels(labels, rotation=rotation, fontsize=size, ha="center", va="top",
                     rotation_mode="default", linespacing=1.1)
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
  gap = 2.0  # pixels between neighbours
  return all(a.x1 + gap <= b.x0 for a, b in zip(boxes, boxes[1:])) and _within_figure(boxes, fig)


def _within_figure(boxes, fig) -> bool:
  width = fig.bbox.width
  return all(b.x0 >= 0 and b.x1 <= width for b in boxes)


def text_boxes_overlap(texts, renderer) -> list[tuple[str, str]]:
  """Pairs of texts (by their strings) whose rendered boxes overlap: for tests and a last check."""
  boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
  return [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]


def wrap_label(text: str, width: int) -> str:
  """A long label cut at spaces onto lines of about `width` characters (panel titles)."""
  words, lines, line = text.split(), [], ""
  for word in words:
    if line and len(line) + 1 + len(word) > width:
      lines.append(line)
      line = word
    else:
      line = f"{line} {word}".strip()
  lines.append(line)
  return "\n".join(lines)
