"""Which characters count as Chinese characters (CJK ideographs), and how often they occur."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ziya2lab.common.cjk import CJK_IDEOGRAPH


def is_cjk_char(char: str) -> bool:
    return len(char) == 1 and CJK_IDEOGRAPH.match(char) is not None


def cjk_char_count(text: str) -> int:
    return len(CJK_IDEOGRAPH.findall(text))


def count_cjk_chars(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(CJK_IDEOGRAPH.findall(text))
    return counts
