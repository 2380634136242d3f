"""Language-aware text units shared by the raters and the corruption operators.

English is measured in whitespace words and Chinese in non-space characters: a stable token proxy that does not
depend on which tokenizer a later training run picks.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from ziya2lab.common.cjk import CJK_IDEOGRAPH as CJK

EN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d+")
ZH_TERMINALS = "。！？；…"
EN_TERMINALS = ".!?;…"
CLOSERS = "\"'”’」』）)]】》>*`"
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？；])[”’」』）]*")
_EN_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[A-Z0-9])")

EN_STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "he", "she", "they", "we", "you", "i", "his", "her", "their", "our", "your", "my", "me", "him", "them", "us", "not", "no", "so", "than", "then", "there", "here", "which", "who", "whom", "what", "when", "where", "why", "how", "all", "any", "some", "such", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "do", "does", "did", "done", "has", "have", "had", "having", "into", "out", "up", "down", "over", "under", "again", "further", "once", "about", "above", "below", "between", "through", "during", "before", "after", "more", "most", "other", "own", "same", "too", "very", "just", "also", "only", "both", "each", "few", "nor"]
)


def detect_lang(text: str) -> str:
    """``zh`` when at least a fifth of the letters are CJK ideographs, else ``en``."""
    cjk = len(CJK.findall(text))
    latin = sum(1 for char in text if char.isascii() and char.isalpha())
    return "zh" if cjk and cjk * 5 >= cjk + latin else "en"


def doc_lang(doc: dict) -> str:
    """The record's ``lang`` (flat records) or ``metadata.lang`` (the data factory's), else detected."""
    lang = doc.get("lang") or (doc.get("metadata") or {}).get("lang")
    return lang if lang in ("en", "zh") else detect_lang(doc["text"])


def count_tokens(text: str, lang: str) -> int:
    """The token proxy: whitespace words for English, non-space characters for Chinese."""
    if lang == "zh":
        return sum(1 for char in text if not char.isspace())
    return len(text.split())


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def sentences(paragraph: str, lang: str) -> list[str]:
    """Split one paragraph at terminal punctuation (a closing quote stays with its sentence)."""
    if lang == "zh":
        pieces, start = [], 0
        for match in _ZH_SENTENCE_END.finditer(paragraph):
            if match.end() > start:
                pieces.append(paragraph[start : match.end()])
                start = match.end()
        pieces.append(paragraph[start:])
    else:
        pieces, start = [], 0
        for match in _EN_SENTENCE_END.finditer(paragraph):
            pieces.append(paragraph[start : match.start() + len(match.group().rstrip())])
            start = match.end()
        pieces.append(paragraph[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def lexical_units(text: str, lang: str) -> list[str]:
    """Units for lexical overlap: lower-cased content words (en) or CJK character bigrams (zh)."""
    if lang == "zh":
        chars = CJK.findall(text)
        return [a + b for a, b in itertools.pairwise(chars)]
    return [word for word in (w.lower() for w in EN_WORD.findall(text)) if word not in EN_STOPWORDS]


_BYLINE = re.compile(r"(?:\s*[（(][^（）()]{1,24}[）)])+$")  # a trailing reporter or source: "……拼搏。”（张书政）"


def ends_terminated(sentence: str, lang: str) -> bool:
    stripped = _BYLINE.sub("", sentence.rstrip()).rstrip(CLOSERS)
    if not stripped:
        return True
    return stripped[-1] in (ZH_TERMINALS + EN_TERMINALS + ":：" if lang == "zh" else EN_TERMINALS + ":")


def join_sentences(pieces: Sequence[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(pieces)
