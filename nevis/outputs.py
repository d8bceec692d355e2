"""Files the CLI writes for the user (`report --csv`, `plot -o`): checked before any work, written whole."""
from __future__ import annotations

import os
from pathlib import Path

from nevis.errors import UserError

CSV_FORMATS = ("csv",)


def checked_output(path: str, formats: tuple[str, ...], flag: str) -> Path:
  """`path` if a file of one of `formats` can be written there; else a one-line UserError saying why."""
  out = Path(path)
  shown = str(path)
  if out.is_dir():
    raise UserError(f"{flag} {shown!r} is a folder; give a file name inside it, e.g. {str(out / ('out.' + formats[0]))!r}")
  suffix = out.suffix.lower().lstrip(".")
  if suffix not in formats:
    got = f"extension {out.suffix!r}" if out.suffix else "no extension"
    raise UserError(f"{flag} {shown!r} has {got}; use one of {', '.join('.' + f for f in formats)}")
  parent = out.parent if str(out.parent) else Path(".")
  if not parent.is_dir():
    what = "is a file" if parent.exists() else "does not exist"
    raise UserError(f"{flag} {shown!r}: the folder {str(parent)!r} {what}; create the folder or choose another")
  if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
    raise UserError(f"{flag} {shown!r}: cannot write there (permission denied); choose a writable folder")
  return out


def write_text(path: Path, text: str, flag: str) -> None:
  from nevis.workdir import atomic_write_bytes

  try:
    atomic_write_bytes(path, text.encode())
  except OSError as e:
    raise UserError(f"{flag} {str(path)!r}: cannot write it ({e.strerror}); choose a writable folder") from None


def save_figure(fig, output: Path, fmt: str | None = None) -> Path:
  """Writes a matplotlib figure to `output` (format: `fmt`, else the extension) aside and renames it, so a
  failure leaves no half file; closes the figure."""
  import matplotlib.pyplot as plt

  staging = output.with_name(f".{output.name}.tmp")
  try:
    fig.savefig(staging, dpi=120, format=fmt or output.suffix.lstrip(".").lower() or "png")
    staging.replace(output)
  except OSError as e:
    raise UserError(f"cannot write the plot {str(output)!r} ({e.strerror}); choose a writable folder") from None
  finally:
    plt.close(fig)
    staging.unlink(missing_ok=True)
  return output
