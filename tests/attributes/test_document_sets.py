"""The three document sets: LM reference text, development and held-out are disjoint and stable."""

from __future__ import annotations

import pytest

from ziya2lab.attributes.document_sets import document_set, set_documents
from ziya2lab.data.sources import is_reference, iter_source, split_of


def test_sets_are_disjoint_stable_and_keep_reference_text_out() -> None:
    documents = list(iter_source("lee_news"))
    sets = [document_set(doc["id"]) for doc in documents]
    assert sets == [document_set(doc["id"]) for doc in documents]
    assert {"development", "heldout"} <= set(sets)
    for doc, which in zip(documents, sets, strict=True):
        if split_of(doc["id"]) == "heldout":
            assert which == "heldout"
        elif is_reference(doc["id"], 30):
            assert which is None


def test_set_documents_interleaves_sources_and_names_unknown_sets() -> None:
    development = set_documents({"en": ["lee_news", "brown"]}, 10, "development")
    heldout = set_documents({"en": ["lee_news", "brown"]}, 10, "heldout")
    assert [doc["source"] for doc in development[:4]] == ["lee_news", "brown", "lee_news", "brown"]
    assert {doc["id"] for doc in development}.isdisjoint(doc["id"] for doc in heldout)
    with pytest.raises(ValueError, match="'test'"):
        set_documents({"en": ["lee_news"]}, 1, "test")
