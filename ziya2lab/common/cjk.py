"""Which characters are Chinese characters (CJK ideographs): one definition for rules, shingles, raters and counts."""

from __future__ import annotations

import re

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, and Extensions B–H (planes 2 and 3).
# Punctuation (，。「」) and fullwidth forms are not ideographs.
CJK_RANGES: tuple[tuple[int, int], ...] = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3347F))
CJK_IDEOGRAPH = re.compile("[" + "".join(f"{chr(start)}-{chr(end)}" for start, end in CJK_RANGES) + "]")
