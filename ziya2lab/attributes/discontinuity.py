"""Topical discontinuity: a piece of an unrelated document stitched in shares almost no vocabulary with the rest.

A document is cut into blocks of whole paragraphs (sentences when it has fewer than three paragraphs) of at least
``min_block_tokens`` each. Every block is compared by count × IDF cosine with the *rest of the document*; IDF weights
come from the sample being rated, so common words count little and topic words much. The lowest block-to-rest
cosine is the document's continuity. Comparing with the whole rest, not only the adjacent window, keeps real
digressions (a new paragraph that picks a topic word up again three paragraphs later) from reading as a break.

Shared words are a narrow test of relatedness: a quotation or an aside can share none with its article and still
be about it. Where a sentence-embedding model covers the language, a lexical break is only a candidate, confirmed
when the block's embedding is also far from the mean embedding of the rest (``semantic_min_cosine``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from ziya2lab.attributes.text import count_tokens, lexical_units, paragraphs, sentences


def text_blocks(text: str, lang: str, min_block_tokens: int) -> list[list[str]]:
    """Consecutive paragraphs (sentences when the document has fewer than three paragraphs) grouped into blocks of
    at least ``min_block_tokens``; a short tail joins the block before it."""
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
    return merged


def blocks(text: str, lang: str, min_block_tokens: int) -> list[list[str]]:
    """Lexical units per block of ``text_blocks``."""
    return [[unit for piece in block for unit in lexical_units(piece, lang)]
            for block in text_blocks(text, lang, min_block_tokens)]


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


def semantic_min_cosine(block_texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray],
                        window: int = 1) -> float:
    """The lowest, over blocks, of a block's closeness to its document: the larger of its embedding's cosine with
    the normalised mean of the other blocks' embeddings and with the mean of its ``window`` neighbours on either
    side. A block counts as foreign only when it is far from both: the items of a compilation (Brown's press
    samples, People's Daily pages) are far from the rest of the document but close to their neighbours, a
    stitched-in passage is close to neither. 1.0 for a single-block document; ``embed`` returns one
    L2-normalised row per text."""
    if len(block_texts) < 2:
        return 1.0
    vectors = embed(block_texts)
    whole = vectors.sum(axis=0)
    lowest = 1.0
    for index, vector in enumerate(vectors):
        neighbours = [j for j in range(max(0, index - window), min(len(vectors), index + window + 1)) if j != index]
        closeness = max(_cosine(vector, whole - vector), _cosine(vector, vectors[neighbours].sum(axis=0)))
        lowest = min(lowest, closeness)
    return lowest


def _cosine(unit: np.ndarray, other: np.ndarray) -> float:
    norm = float(np.linalg.norm(other))
    return float(unit @ other) / norm if norm > 1e-9 else 1.0
