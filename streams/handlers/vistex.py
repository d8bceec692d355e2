"""MIT VisTex reference textures: 167 PPMs in 19 classes; NEVIS's texture crop; split recipe A.

VisTex.tar.gz holds VisionTexture/buildVisTex and the parts VisionTexture/vistex1.0a.<A-H>.tar.Z: tars
compressed with Unix `compress` (LZW). Unpacked, the parts give VisTex/FLAT/<size>/<name>.ppm (the image
files) and VisTex/Images/{Reference,Scenes}/<group>/<name>.ppm, mostly symbolic links into FLAT. NEVIS keeps
the Reference textures and labels them by their group folder (dm_nevis handlers/vistex.py). dm_nevis reads
them in the order of a directory walk, which no file system fixes; here they are read in sorted path order
and the class ids number the group names sorted.
"""
from __future__ import annotations

import io
import posixpath
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Mapping

from nevis.streams.download import Artefact
from nevis.streams.handlers.base import Example, Extracted, Handler, decode_image, tar_members

ARCHIVE = "VisTex.tar.gz"
_REFERENCE = re.compile(r"^.+/Images/Reference/(.+)/.+\.ppm$")
_MAX_LINK_HOPS = 16


def unlzw(data: bytes) -> bytes:
  """Decompresses a Unix `compress` (.Z) stream: LZW, 9 to max-bits codes, block mode with CLEAR."""
  if len(data) < 3 or data[:2] != b"\x1f\x9d":
    raise ValueError("not a .Z stream (bad magic)")
  max_bits, block_mode = data[2] & 0x1F, bool(data[2] & 0x80)
  if not 10 <= max_bits <= 16:  # 9-bit streams follow a different width rule; compress never defaults to it
    raise ValueError(f".Z stream with unsupported max bits {max_bits}")
  max_entries = 1 << max_bits
  body, total_bits = data[3:] + b"\0\0", (len(data) - 3) * 8
  # block mode reserves code 256 for CLEAR; the table's length is always the next free code
  table = [bytes([i]) for i in range(256)] + ([b""] if block_mode else [])
  first_free = len(table)
  n_bits, position, segment_start = 9, 0, 0
  previous = None
  out = []

  def group_end(at: int) -> int:
    # compress(1) writes codes in groups of 8 and pads the group open when the code width changes
    group = n_bits * 8
    return segment_start + -(-(at - segment_start) // group) * group

  while True:
    if len(table) > (1 << n_bits) - 1 and n_bits < max_bits:
      position = segment_start = group_end(position)
      n_bits += 1
    if position + n_bits > total_bits:
      break
    start = position >> 3
    code = (int.from_bytes(body[start:start + 3], "little") >> (position & 7)) & ((1 << n_bits) - 1)
    position += n_bits
    if block_mode and code == 256:
      position = segment_start = group_end(position)
      n_bits = 9
      del table[first_free:]
      previous = None
      continue
    if code < len(table):
      entry = table[code]
    elif code == len(table) and previous is not None:
      entry = previous + previous[:1]
    else:
      raise ValueError(f"corrupt .Z stream: code {code} with {len(table)} entries")
    out.append(entry)
    if previous is not None and len(table) < max_entries:
      table.append(previous + entry[:1])
    previous = entry
  return b"".join(out)


def _resolve(name: str, links: Mapping[str, str]) -> str:
  for _ in range(_MAX_LINK_HOPS):
    if name not in links:
      return name
    name = links[name]
  raise ValueError(f"symbolic link loop at {name}")


def _unpack_parts(archive: Path, directory: Path) -> tuple[dict[str, Path], dict[str, str]]:
  """Every .ppm file of the .tar.Z parts written under `directory`, and every link (name -> target)."""
  files: dict[str, Path] = {}
  links: dict[str, str] = {}
  parts = sorted((name, data) for name, data in tar_members(archive) if name.endswith(".tar.Z"))
  for _, data in parts:
    with tarfile.open(fileobj=io.BytesIO(unlzw(data))) as part:
      for member in part:
        name = posixpath.normpath(member.name)
        if member.issym():
          links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        elif member.islnk():
          links[name] = posixpath.normpath(member.linkname)
        elif member.isfile() and name.endswith(".ppm"):
          files[name] = directory / f"{len(files)}.ppm"
          with part.extractfile(member) as source, open(files[name], "wb") as target:
            shutil.copyfileobj(source, target)
  return files, links


def extract(paths: Mapping[str, Path]) -> Extracted:
  scratch = tempfile.TemporaryDirectory(prefix="nevis-vistex-")
  files, links = _unpack_parts(paths[ARCHIVE], Path(scratch.name))
  references = sorted(n for n in set(files) | set(links) if _REFERENCE.match(n))
  class_names = sorted({_REFERENCE.match(n).group(1) for n in references})
  label_of = {name: i for i, name in enumerate(class_names)}

  def examples():
    with scratch:
      for name in references:
        target = _resolve(name, links)
        if target not in files:
          raise ValueError(f"{name} points to {target}, which is not in the archive")
        yield Example(decode_image(files[target].read_bytes()), label_of[_REFERENCE.match(name).group(1)])

  return Extracted(class_names, {"all": examples()})


HANDLER = Handler(
    name="vistex",
    artefacts=(
        Artefact(ARCHIVE, url="http://vismod.media.mit.edu/pub/VisTex/VisTex.tar.gz",
                 checksum="md5:f176ad5c9383141f981e3668b232add7"),
    ),
    extract=extract,
    image_rule="texture_crop",
)
