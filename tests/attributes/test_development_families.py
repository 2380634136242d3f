"""The development families (``corruption.READABILITY_FAMILIES``/``COHERENCE_FAMILIES``): deterministic, and each
changes the documents the way its name says."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from ziya2lab.attributes.corruption import COHERENCE_FAMILIES, READABILITY_FAMILIES, READABILITY_OPERATORS
from ziya2lab.data.sources import iter_source


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return [*iter_source("lee_news", split="train", limit=10), *iter_source("peoples_daily", split="train", limit=10)]


def test_the_studys_operators_are_development_families_too() -> None:
    assert set(READABILITY_OPERATORS) <= set(READABILITY_FAMILIES)


@pytest.mark.parametrize("name", sorted(READABILITY_FAMILIES))
def test_readability_families_are_deterministic_and_change_the_text(documents: list[dict], name: str) -> None:
    first = [READABILITY_FAMILIES[name](doc["text"], doc["lang"], random.Random(doc["id"])) for doc in documents]
    assert first == [READABILITY_FAMILIES[name](doc["text"], doc["lang"], random.Random(doc["id"])) for doc in documents]
    assert sum(text != doc["text"] for text, doc in zip(first, documents, strict=True)) >= 0.8 * len(documents)


@pytest.mark.parametrize("name", sorted(COHERENCE_FAMILIES))
def test_coherence_families_keep_the_host_and_add_to_it(documents: list[dict], name: str) -> None:
    for doc in documents:
        donors = [other["text"] for other in documents if other["lang"] == doc["lang"] and other is not doc]
        corrupted = COHERENCE_FAMILIES[name](doc["text"], doc["lang"], donors, random.Random(doc["id"]))
        assert corrupted == COHERENCE_FAMILIES[name](doc["text"], doc["lang"], donors, random.Random(doc["id"]))
        assert len(corrupted) > len(doc["text"]) and doc["text"].split("\n")[0][:15] in corrupted


def test_shuffles_keep_the_units_and_stripping_leaves_no_mark(documents: list[dict]) -> None:
    for doc in documents:
        units = (lambda text: Counter(c for c in text if not c.isspace())) if doc["lang"] == "zh" else \
            (lambda text: Counter(re.findall(r"\w+", text)))
        for name in ("shuffle_sentences", "reverse_sentences", "swap_halves"):
            assert units(READABILITY_FAMILIES[name](doc["text"], doc["lang"], random.Random(1))) == units(doc["text"])
        stripped = READABILITY_FAMILIES["strip_punctuation"](doc["text"], doc["lang"], random.Random(1))
        assert not re.search(r"[^\w\s']", stripped), doc["id"]
