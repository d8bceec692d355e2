"""KTH-TIPS2-a colour textures: 11 materials x 4 samples, 200x200; split recipe A (layout: kth_tips.py)."""
from __future__ import annotations

from nevis.streams.handlers.kth_tips import kth_tips_handler

HANDLER = kth_tips_handler("kth_tips_2a", "kth-tips2-a_col_200x200.tar", "911eb17220748fa36e6524aea71db7d7")
