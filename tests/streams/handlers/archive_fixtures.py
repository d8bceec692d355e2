"""Tiny archives with the layout and file formats of the original NEVIS'22 sources."""
import io
import zipfile

import numpy as np


def png_bytes(array):
  from PIL import Image

  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format="PNG")
  return buffer.getvalue()


def make_coil_zip(path, folder, objects, views, *, colour, name=lambda obj, view: f"obj{obj}__{view}.png"):
  """coil-20-proc.zip / coil-100.zip: <folder>/obj<o>__<v>.png; pixel value encodes (object, view)."""
  with zipfile.ZipFile(path, "w") as archive:
    for obj in objects:
      for view in views:
        shape = (16, 16, 3) if colour else (16, 16)
        image = np.full(shape, obj * 10 % 256, np.uint8)
        archive.writestr(f"{folder}/{name(obj, view)}", png_bytes(image))
    archive.writestr(f"{folder}/Thumbs.db", b"junk")
  return path




def without_checksums(monkeypatch, module):
  """Fixture archives are not the real ones: drop the handler's checksums for this test."""
  import dataclasses

  handler = module.HANDLER
  artefacts = tuple(dataclasses.replace(a, checksum=None) for a in handler.artefacts)
  monkeypatch.setattr(module, "HANDLER", dataclasses.replace(handler, artefacts=artefacts))
