"""Topical discontinuity: pieces of unrelated documents stitched together share almost no vocabulary.

At every paragraph boundary (sentence boundaries when a document has too few paragraphs) the lexical units of
a window of tokens before and after the boundary are compared by TF-IDF cosine. IDF weights come from the
sample being rated, so common words of the corpus count little and topic words count much. The lowest
boundary cosine is the document's continuity; below a per-language threshold the document is flagged.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ziya2lab.attributes.text import lexical_units, paragraphs, sentences


def segments(text: str, lang: str) -> list[list[str]]:
    """Lexical units per segment: paragraphs if there are at least three, else sentences."""
    pieces = paragraphs(text)
    if len(pieces) < 3:
        pieces = [sentence for paragraph in pieces for sentence in sentences(paragraph, lang)]
    return [lexical_units(piece, lang) for piece in pieces]


def document_frequencies(docs_units: Sequence[Sequence[Sequence[str]]]) -> tuple[Counter, int]:
    frequencies: Counter = Counter()
    for doc in docs_units:
        frequencies.update({unit for segment in doc for unit in segment})
    return frequencies, len(docs_units)


def _tfidf(units: Sequence[str], frequencies: Counter, n_docs: int) -> dict[str, float]:
    counts = Counter(units)
    return {unit: count * math.log((1 + n_docs) / (1 + frequencies[unit])) for unit, count in counts.items()}


def _cosine(left: dict[str, float], right: dict[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    dot = sum(weight * right.get(unit, 0.0) for unit, weight in left.items())
    norm = math.sqrt(sum(w * w for w in left.values())) * math.sqrt(sum(w * w for w in right.values()))
    return dot / norm if norm else 1.0


def min_boundary_cosine(
    doc_segments: Sequence[Sequence[str]],
    frequencies: Counter,
    n_docs: int,
    window_tokens: int,
    min_window_tokens: int,
) -> float:
    """The lowest window cosine over the document's boundaries; 1.0 when no boundary has full windows."""
    lowest = 1.0
    for boundary in range(1, len(doc_segments)):
        left: list[str] = []
        for segment in reversed(doc_segments[:boundary]):
            left = list(segment) + left
            if len(left) >= window_tokens:
                break
        right: list[str] = []
        for segment in doc_segments[boundary:]:
            right.extend(segment)
            if len(right) >= window_tokens:
                break
        if len(left) < min_window_tokens or len(right) < min_window_tokens:
            continue
        lowest = min(
            lowest,
            _cosine(
                _tfidf(left[-window_tokens:], frequencies, n_docs),
                _tfidf(right[:window_tokens], frequencies, n_docs),
            ),
        )
    return lowest
