"""Progress bars (tqdm) for the runner and for learners, or silence."""
from __future__ import annotations

from nevis.protocol import Progress


class TqdmProgress(Progress):
  def __init__(self, position: int = 1, enabled: bool = True):
    self._bar = None
    self._position = position
    self._enabled = enabled

  def start(self, description: str, total: int | None = None) -> None:
    self.close()
    if self._enabled:
      from tqdm.auto import tqdm

      self._bar = tqdm(total=total, desc=description, position=self._position, leave=False, dynamic_ncols=True)

  def update(self, n: int = 1, **postfix) -> None:
    if self._bar is not None:
      self._bar.update(n)
      if postfix:
        self._bar.set_postfix(postfix, refresh=False)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None
