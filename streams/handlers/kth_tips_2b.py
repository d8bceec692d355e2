"""KTH-TIPS2-b colour textures: 11 materials x 4 samples, 200x200; split recipe A (layout: kth_tips.py)."""
from __future__ import annotations

from nevis.streams.handlers.kth_tips import kth_tips_handler

HANDLER = kth_tips_handler("kth_tips_2b", "kth-tips2-b_col_200x200.tar", "00470a104a57f5a5be22cc8a0f234c4e")
