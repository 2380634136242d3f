"""Topic breaks: the lexical block-to-rest test, and its confirmation by sentence embeddings in English."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ziya2lab.attributes.auto import AutoCoherenceRater
from ziya2lab.attributes.config import AutoCoherenceConfig
from ziya2lab.attributes.discontinuity import blocks, semantic_min_cosine, text_blocks
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.text import join_sentences


def test_blocks_are_the_lexical_units_of_the_text_blocks() -> None:
    text = "First paragraph about ships.\nSecond paragraph about harbours and ships.\nThird one about cargo."
    pieces = text_blocks(text, "en", 5)
    assert [join_sentences(block, "en") for block in pieces] == [text.replace("\n", " ")]
    assert blocks(text, "en", 5) == [["first", "paragraph", "ships", "second", "paragraph", "harbours", "ships",
                                      "third", "one", "cargo"]]


def test_the_semantic_break_is_the_block_farthest_from_the_mean_of_the_others() -> None:
    axes = {"ships": [1.0, 0.0], "harbours": [0.8, 0.6], "perfume": [0.0, 1.0]}

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.array([axes[text] for text in texts], dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    assert semantic_min_cosine(["ships", "harbours", "ships"], embed) == pytest.approx(0.8)  # its neighbours: 0.8
    assert semantic_min_cosine(["ships", "perfume", "ships"], embed) == pytest.approx(0.0)
    assert semantic_min_cosine(["ships"], embed) == 1.0
    # a compilation of two items: each block is close to a neighbour, so nothing is foreign
    assert semantic_min_cosine(["ships", "ships", "perfume", "perfume"], embed) == pytest.approx(2 ** -0.5)
    assert semantic_min_cosine(["ships", "perfume", "ships", "ships"], embed) == pytest.approx(0.0)


@pytest.mark.slow
def test_a_related_quotation_is_kept_and_an_unrelated_paragraph_is_flagged_in_english() -> None:
    hosts = set_documents({"en": ["brown"]}, 40, "development")
    rater = AutoCoherenceRater(AutoCoherenceConfig())
    assert sum(flag.flagged for flag in rater.rate(hosts)) <= 0.1 * len(hosts)
    lexical_only = AutoCoherenceRater(AutoCoherenceConfig(semantic_languages=[]))
    assert sum(flag.flagged for flag in rater.rate(hosts)) <= sum(flag.flagged for flag in lexical_only.rate(hosts))
    donors = set_documents({"en": ["lee_news"]}, 40, "development")
    spliced = []
    for host, donor in zip(hosts, donors, strict=True):  # a whole news story as one paragraph of an unrelated text
        paragraphs = host["text"].split("\n")
        paragraphs.insert(random.Random(host["id"]).randint(1, len(paragraphs) - 1), donor["text"][:400])
        spliced.append({**host, "text": "\n".join(paragraphs)})
    assert sum(flag.flagged for flag in rater.rate(spliced)) >= 0.5 * len(hosts)
