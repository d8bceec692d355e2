"""TID2008: 1,700 distorted images (25 x 17 distortions x 4 levels), MSSIM bucketed into 5; recipe A.

Facts and rules: `_tid.py`. dm_nevis runs `unrar`; any of unrar/unar/bsdtar/7z works here.
"""
from __future__ import annotations

from nevis.streams.download import Artefact
from nevis.streams.handlers._tid import UNRAR_HELP, extract_year
from nevis.streams.handlers.base import Handler

HANDLER = Handler(
    name="tid2008",
    artefacts=(
        Artefact("tid2008.rar", url="https://ponomarenko.info/tid/tid2008.rar",
                 checksum="md5:732aeec405a57b589aeee4f1c58a4c1b"),
    ),
    extract=lambda paths: extract_year(paths, 2008),
    manual=UNRAR_HELP,
)
