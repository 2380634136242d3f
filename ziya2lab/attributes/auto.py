"""The offline ``auto`` back-end: pattern, topic-break (lexical, confirmed by sentence embeddings in English) and
reference-LM word-order signals, for English and Chinese alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ziya2lab.attributes.config import AutoCoherenceConfig, AutoReadabilityConfig, SimilarityConfig
from ziya2lab.attributes.discontinuity import (
    blocks,
    document_frequencies,
    min_block_cosine,
    semantic_min_cosine,
    text_blocks,
)
from ziya2lab.attributes.flags import DocumentFlag
from ziya2lab.attributes.grammar import error_events
from ziya2lab.attributes.junk import junk_lines
from ziya2lab.attributes.text import count_tokens, doc_lang, join_sentences
from ziya2lab.attributes.word_order import word_order_test


def _by_language(docs: list[dict]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        groups[doc_lang(doc)].append(index)
    return groups


class AutoCoherenceRater:
    """Flags ads/URL/navigation/contact junk and documents stitched from unrelated pieces."""

    attribute = "coherence"

    def __init__(self, cfg: AutoCoherenceConfig) -> None:
        self.cfg = cfg
        self._embedder = None  # MiniLM, loaded when a semantic-language document first needs it

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            from ziya2lab.attributes.similarity import TransformerEmbedder, minilm_path

            self._embedder = TransformerEmbedder(minilm_path(), SimilarityConfig(max_tokens=self.cfg.semantic_max_tokens),
                                                 False)
        return self._embedder.embed(texts)

    def _topic_break(self, text: str, lang: str, lexical: float) -> tuple[bool, float]:
        """(broken, severity in [0, 1]) from the lexical continuity, confirmed by meaning where the language has it."""
        if lang in self.cfg.semantic_languages:
            if lexical >= self.cfg.semantic_candidate_cosine:
                return False, 0.0
            min_tokens = self.cfg.zh_min_block_tokens if lang == "zh" else self.cfg.en_min_block_tokens
            pieces = [join_sentences(block, lang) for block in text_blocks(text, lang, min_tokens)]
            semantic = semantic_min_cosine(pieces, self._embed)
            return semantic < self.cfg.semantic_break_cosine, max(0.0, 1.0 - semantic / self.cfg.semantic_break_cosine)
        threshold = self.cfg.zh_break_cosine if lang == "zh" else self.cfg.en_break_cosine
        return lexical < threshold, max(0.0, 1.0 - lexical / threshold) if threshold else 0.0

    def rate(self, docs: list[dict]) -> list[DocumentFlag]:
        flags: list[DocumentFlag | None] = [None] * len(docs)
        for lang, indices in _by_language(docs).items():
            min_tokens = self.cfg.zh_min_block_tokens if lang == "zh" else self.cfg.en_min_block_tokens
            doc_blocks = [blocks(docs[i]["text"], lang, min_tokens) for i in indices]
            frequencies, n_docs = document_frequencies(doc_blocks)
            for index, parts in zip(indices, doc_blocks, strict=True):
                junk = junk_lines(docs[index]["text"])
                broken, severity = self._topic_break(docs[index]["text"], lang,
                                                     min_block_cosine(parts, frequencies, n_docs))
                reasons = sorted({reason for line in junk for reason in line.reasons})
                if broken:
                    reasons.append("topic_break")
                flagged = len(junk) >= self.cfg.junk_lines_to_flag or broken
                flags[index] = DocumentFlag(str(docs[index].get("id", index)), flagged, len(junk) + severity, reasons)
        return [flag for flag in flags if flag is not None]


class AutoReadabilityRater:
    """Flags punctuation errors, incomplete, run-on or unpunctuated sentences, and scrambled word order."""

    attribute = "readability"

    def __init__(self, cfg: AutoReadabilityConfig) -> None:
        self.cfg = cfg
        self.word_order = word_order_test(cfg.word_order) if cfg.word_order.languages else None

    def rate(self, docs: list[dict]) -> list[DocumentFlag]:
        flags = []
        for index, doc in enumerate(docs):
            text, lang = doc["text"], doc_lang(doc)
            events = error_events(text, lang, self.cfg)
            if self.word_order is not None and lang in self.cfg.word_order.languages:
                events += self.word_order.disorders(text, lang, len(events), self.cfg.errors_to_flag)
            per_100 = 100.0 * len(events) / max(count_tokens(text, lang), 1)
            flags.append(DocumentFlag(str(doc.get("id", index)), len(events) >= self.cfg.errors_to_flag, per_100,
                                      sorted({name for name, _excerpt in events})))
        return flags
