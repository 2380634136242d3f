"""Encoding-efficiency figures for a tokenizer on a corpus, and token-for-token comparison of two tokenizers.

Two per-character figures, because they answer different questions:

* ``tokens_per_cjk_char``: all tokens of a document over its CJK characters (punctuation, digits and spaces
  included), the corpus-level measure under which LLaMA-2 costs about 1.78 on People's Daily. Its floor is set by
  the non-CJK characters: about 0.16 of them per CJK character in People's Daily, fullwidth digits costing three
  byte tokens each.
* ``cjk_tokens_per_cjk_char``: tokens whose text contains a CJK character over CJK characters, the cost of the
  Chinese characters themselves (Ziya2's "2-4 tokens per character"); exactly 1.0 when every one is a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sentencepiece as spm

from ziya2lab.common.cjk import CJK_IDEOGRAPH
from ziya2lab.tokenizer.cjk import cjk_char_count

Encode = Callable[[str], Sequence[int]]


@dataclass
class EncodingStats:
    documents: int = 0
    chars: int = 0
    cjk_chars: int = 0
    utf8_bytes: int = 0
    tokens: int = 0
    cjk_tokens: int = 0

    @property
    def tokens_per_cjk_char(self) -> float:
        return self.tokens / self.cjk_chars if self.cjk_chars else float("nan")

    @property
    def cjk_tokens_per_cjk_char(self) -> float:
        return self.cjk_tokens / self.cjk_chars if self.cjk_chars else float("nan")

    @property
    def bytes_per_token(self) -> float:
        return self.utf8_bytes / self.tokens if self.tokens else float("nan")

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else float("nan")


def _token_source_text(piece: Any, data: bytes) -> str:
    """The text a token stands for; a byte-fallback token stands for the character whose bytes it starts."""
    if piece.end > piece.begin:
        return data[piece.begin : piece.end].decode("utf-8", "ignore")
    if piece.piece.startswith("<0x"):
        return data[piece.begin : piece.begin + 4].decode("utf-8", "ignore")[:1]
    return ""  # the dummy-prefix "▁", which has no source text


def encoding_stats(processor: spm.SentencePieceProcessor, texts: Iterable[str]) -> EncodingStats:
    """Counts over documents encoded one by one, without BOS/EOS."""
    stats = EncodingStats()
    for text in texts:
        data = text.encode("utf-8")
        pieces = processor.encode(text, return_type="proto").pieces
        stats.documents += 1
        stats.chars += len(text)
        stats.cjk_chars += cjk_char_count(text)
        stats.utf8_bytes += len(data)
        stats.tokens += len(pieces)
        stats.cjk_tokens += sum(
            CJK_IDEOGRAPH.search(_token_source_text(piece, data)) is not None for piece in pieces
        )
    return stats


@dataclass
class EncodingComparison:
    documents: int
    differing: int
    first_difference: str | None

    @property
    def identical(self) -> bool:
        return self.documents > 0 and self.differing == 0


def compare_encodings(encode_a: Encode, encode_b: Encode, texts: Iterable[str]) -> EncodingComparison:
    """How many documents two encoders tokenise differently (ids compared token for token)."""
    documents = differing = 0
    first: str | None = None
    for text in texts:
        documents += 1
        if list(encode_a(text)) != list(encode_b(text)):
            differing += 1
            first = first if first is not None else text[:200]
    return EncodingComparison(documents, differing, first)


def efficiency_gain(before: EncodingStats, after: EncodingStats) -> float:
    """Relative increase in bytes per token, i.e. tokens_before / tokens_after - 1 on the same text."""
    return after.bytes_per_token / before.bytes_per_token - 1.0
