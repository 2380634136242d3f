"""Topical discontinuity: a piece of an unrelated document stitched in shares almost no vocabulary with the rest.

A document is cut into blocks of whole paragraphs (sentences when it has fewer than three paragraphs) of at least
``min_block_tokens`` each. Every block is compared by count × IDF cosine with the *rest of the document*; IDF weights
come from the sample being rated, so common words count little and topic words much. The lowest block-to-rest
cosine is the document's continuity. Comparing with the whole rest, not only the adjacent window, keeps real
digressions (a new paragraph that picks a topic word up again three paragraphs later) from reading as a break.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ziya2lab.attributes.text import count_tokens, lexical_units, paragraphs, sentences


def blocks(text: str, lang: str, min_block_tokens: int) -> list[list[str]]:
    """Lexical units per block of consecutive paragraphs (or sentences) with at least ``min_block_tokens``."""
    pieces = paragraphs(text)
    if len(pieces) < 3:
        pieces = [sentence for paragraph in pieces for sentence in sentences(paragraph, lang)]
    merged: list[list[str]] = []
    current: list[str] = []
    tokens = 0
    for piece in pieces:
        current.append(piece)
        tokens += count_tokens(piece, lang)
        if tokens >= min_block_tokens:
            merged.append(current)
            current, tokens = [], 0
    if current and merged:
        merged[-1].extend(current)  # a short tail belongs to the block before it
    elif current:
        merged.append(current)
    return [[unit for piece in block for unit in lexical_units(piece, lang)] for block in merged]


def document_frequencies(docs_blocks: Sequence[Sequence[Sequence[str]]]) -> tuple[Counter, int]:
    frequencies: Counter = Counter()
    for doc in docs_blocks:
        frequencies.update({unit for block in doc for unit in block})
    return frequencies, len(docs_blocks)


def min_block_cosine(doc_blocks: Sequence[Sequence[str]], frequencies: Counter, n_docs: int) -> float:
    """The lowest cosine between one block and the rest of its document; 1.0 for a single-block document.

    Weights are count × IDF, linear in the counts, so the rest's vector is the whole minus the block and each
    cosine costs O(block) rather than O(document).
    """
    if len(doc_blocks) < 2:
        return 1.0
    idf = {unit: math.log((1 + n_docs) / (1 + frequencies[unit])) for block in doc_blocks for unit in block}
    whole = Counter(unit for block in doc_blocks for unit in block)
    whole_norm2 = sum((count * idf[unit]) ** 2 for unit, count in whole.items())
    lowest = 1.0
    for block in doc_blocks:
        own = Counter(block)
        own_norm2 = sum((count * idf[unit]) ** 2 for unit, count in own.items())
        dot_whole = sum(count * whole[unit] * idf[unit] ** 2 for unit, count in own.items())
        dot_rest = dot_whole - own_norm2
        rest_norm2 = whole_norm2 - 2 * dot_whole + own_norm2
        if own_norm2 > 0 and rest_norm2 > 1e-12:
            lowest = min(lowest, dot_rest / math.sqrt(own_norm2 * rest_norm2))
    return lowest
