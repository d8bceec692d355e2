"""TID2013: 3,000 distorted images (25 x 24 distortions x 5 levels), MSSIM bucketed into 5; recipe A.

Facts and rules: `_tid.py`. dm_nevis runs `unrar`; any of unrar/unar/bsdtar/7z works here.
"""
from __future__ import annotations

from nevis.streams.download import Artefact
from nevis.streams.handlers._tid import UNRAR_HELP, extract_year
from nevis.streams.handlers.base import Handler

HANDLER = Handler(
    name="tid2013",
    artefacts=(
        Artefact("tid2013.rar", url="https://ponomarenko.info/tid2013/tid2013.rar",
                 checksum="md5:2c42bec2407adc49cf4d7858daf8f99b"),
    ),
    extract=lambda paths: extract_year(paths, 2013),
    manual=UNRAR_HELP,
)
