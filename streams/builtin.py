"""The built-in streams. Named by the `nevis.streams` entry point, exactly as a plug-in would be."""
from nevis.streams import glyphs, mini, nevis22, synthetic  # noqa: F401  (importing registers them)
