"""The controls: the negative one is a disjoint clean corpus of the base's size, the positive one shuffles a fixed
share of every document's tokens and nothing else."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.study.controls import (
    NEGATIVE_CONTROL,
    negative_control,
    positive_control,
    shuffle_tokens,
    source_of,
)

TEXT = "The quick brown fox jumps over the lazy dog while the cat sleeps. 我们今天去北京看望朋友。"


def test_shuffling_keeps_every_token_and_moves_the_chosen_share() -> None:
    shuffled = shuffle_tokens(TEXT, 0.5, random.Random(0))
    assert shuffled != TEXT and len(shuffled) == len(TEXT)
    assert Counter(shuffled) == Counter(TEXT)
    assert shuffle_tokens(TEXT, 0.0, random.Random(0)) == TEXT
    tokens = TEXT.split(" ")
    moved = sum(a != b for a, b in zip(tokens[:12], shuffle_tokens(TEXT, 1.0, random.Random(1)).split(" ")[:12],
                                       strict=True))
    assert moved >= 6
    with pytest.raises(ValueError, match="outside"):
        shuffle_tokens(TEXT, 1.5, random.Random(0))


def _documents(count: int) -> list[dict]:
    return [{"id": f"{'code' if index % 4 == 0 else 'news'}:{index}", "text": f"document {index} " * 20, "lang": "en"}
            for index in range(count)]


def _chars_by_source(documents: list[dict]) -> Counter:
    chars: Counter = Counter()
    for document in documents:
        chars[source_of(document)] += len(document["text"])
    return chars


def test_negative_control_is_disjoint_from_the_base_with_its_sources_in_the_same_shares(tmp_path: Path) -> None:
    pool = _documents(100)
    base = [document for document in pool if int(document["id"].split(":")[1]) < 40]
    corpus = negative_control(pool, base, tmp_path, seed=0)
    documents = read_jsonl(corpus.path)
    assert corpus.family == NEGATIVE_CONTROL and corpus.name == NEGATIVE_CONTROL
    assert not {document["id"] for document in documents} & {document["id"] for document in base}
    wanted, got = _chars_by_source(base), _chars_by_source(documents)
    assert set(got) == set(wanted) and all(got[source] >= wanted[source] for source in wanted)
    with pytest.raises(ValueError, match="budget_fraction"):
        negative_control(pool[:60], pool[:40], tmp_path / "small", seed=0)


def test_positive_control_shuffles_every_document_of_the_base(tmp_path: Path) -> None:
    base = [{"id": "a", "text": TEXT}, {"id": "b", "text": "one two three four five six seven eight nine ten"}]
    corpus = positive_control(base, 0.5, tmp_path, seed=0)
    documents = read_jsonl(corpus.path)
    assert [document["id"] for document in documents] == ["a", "b"]
    assert all(document["text"] != original["text"] for document, original in zip(documents, base, strict=True))
    assert corpus.level == 0.5 and corpus.chars == sum(len(document["text"]) for document in base)
