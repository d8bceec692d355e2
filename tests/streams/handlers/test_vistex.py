import numpy as np
import pytest

from nevis.streams import splits

from .kit import Link, flat, level, tar_bytes, write_tar


def compress_z(data: bytes, max_bits: int = 16) -> bytes:
  """Unix `compress` output (LZW, block mode, no CLEAR): codes widen from 9 bits, padding each group."""
  table = {bytes([i]): i for i in range(256)}
  free, n_bits, stream, length, segment = 257, 9, 0, 0, 0

  def put(code):
    nonlocal n_bits, stream, length, segment
    stream |= code << length
    length += n_bits
    if free > (1 << n_bits) - 1 and n_bits < max_bits:
      group = n_bits * 8
      length = segment + -(-(length - segment) // group) * group
      n_bits, segment = n_bits + 1, length

  word = b""
  for byte in data:
    longer = word + bytes([byte])
    if longer in table:
      word = longer
      continue
    put(table[word])
    if free < 1 << max_bits:
      table[longer] = free
      free += 1
    word = bytes([byte])
  if word:
    put(table[word])
  return bytes([0x1F, 0x9D, 0x80 | max_bits]) + stream.to_bytes((length + 7) // 8, "little")


def test_unlzw_inverts_compress_across_code_widths():
  from nevis.streams.handlers.vistex import unlzw

  rng = np.random.RandomState(0)
  data = bytes(rng.randint(0, 6, 3000).astype(np.uint8)) + bytes(600) + b"abc" * 50
  packed = compress_z(data)
  assert unlzw(packed) == data
  assert unlzw(compress_z(b"TOBEORNOTTOBEORTOBEORNOT")) == b"TOBEORNOTTOBEORTOBEORNOT"
  with pytest.raises(ValueError, match="magic"):
    unlzw(b"\x1f\x8b\x08")


def test_vistex_reference_links_through_compressed_parts(manual, prepare):
  # class ids: sorted groups Bark=0, Paintings=1, Water=2; images 80x80 (the texture crop takes 64x64)
  flat_images = {f"VisTex/FLAT/512x512/{name}.ppm": flat(level(label), "PPM", (80, 80, 3))
                 for name, label in (("Bark.0000", 0), ("Bark.0001", 0), ("Paintings.11.0000", 1),
                                     ("Water.0000", 2), ("GrassSky.0000", 2))}
  links = {
      "VisTex/Images/Reference/Bark/Bark.0000.ppm": Link("../../../FLAT/512x512/Bark.0000.ppm"),
      "VisTex/Images/Reference/Bark/Bark.0001.ppm": Link("../../../FLAT/512x512/Bark.0001.ppm"),
      "VisTex/Images/Reference/Paintings/Paintings.11.0000.ppm": Link("../../../FLAT/512x512/Paintings.11.0000.ppm"),
      "VisTex/Images/Reference/Water/Water.0000.ppm": Link("../../../FLAT/512x512/Water.0000.ppm"),
      # a scene texture, not a reference texture: skipped
      "VisTex/Images/Scenes/GrassSky/GrassSky.0000.ppm": Link("../../../FLAT/512x512/GrassSky.0000.ppm"),
      "VisTex/README": b"Vision Texture 1.0",
  }
  write_tar(manual / "VisTex.tar.gz", {
      "VisionTexture/buildVisTex": b"#!/bin/sh\n",
      "VisionTexture/vistex1.0a.A.tar.Z": compress_z(tar_bytes(links)),
      "VisionTexture/vistex1.0a.B.tar.Z": compress_z(tar_bytes(flat_images)),
  }, folders=True)
  ds = prepare("vistex")
  assert ds.class_names == ["Bark", "Paintings", "Water"]
  assert ds.counts() == splits.plan_sizes(splits.recipe_all({"all": 4}))
  assert sorted(ds.labels()) == [0, 0, 1, 2]
  assert ds.manifest["provenance"]["image_rule"] == "texture_crop"
  ds.assert_levels_follow_labels()
