"""Which characters count as Chinese characters (CJK ideographs), and how often they occur."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, and Extensions B–H (planes 2 and 3).
# Punctuation (，。「」) and fullwidth forms are not ideographs and are not counted.
CJK_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003347f]")


def is_cjk_char(char: str) -> bool:
    return len(char) == 1 and CJK_IDEOGRAPH.match(char) is not None


def cjk_char_count(text: str) -> int:
    return len(CJK_IDEOGRAPH.findall(text))


def count_cjk_chars(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(CJK_IDEOGRAPH.findall(text))
    return counts
