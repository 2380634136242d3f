"""Operator-family validation: every family of every set is measured on its own document set, and the figures are
well-formed."""

from __future__ import annotations

import pytest

from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.heldout_validation import OPERATOR_SETS, family_documents, validate_families

SOURCES = {"en": ["lee_news"], "zh": ["peoples_daily"]}


def test_an_unknown_operator_set_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match=r"sixth_heldout.*known"):
        family_documents(SOURCES, 4, ["sixth_heldout"])


def test_held_out_sets_read_held_out_documents_and_development_reads_development() -> None:
    documents = family_documents(SOURCES, 6, ["second_heldout", "development"])
    assert set(documents) == {"heldout", "development"}
    assert not {doc["id"] for doc in documents["heldout"]} & {doc["id"] for doc in documents["development"]}


@pytest.mark.slow
def test_every_family_of_every_set_is_scored_per_language() -> None:
    documents = family_documents(SOURCES, 16, list(OPERATOR_SETS))
    result = validate_families(documents, list(OPERATOR_SETS), RatersConfig(sample_size=10_000))
    table = result.table
    assert {(row.set, row.family, row.lang) for row in table.itertuples()} == {
        (name, family, lang) for name, operators in OPERATOR_SETS.items() for families in operators.values()
        for family in families for lang in ("en", "zh")}
    # every document is rated once corrupted (or clean, where the operator found nothing to change) and once clean
    assert ((table["corrupted"] + table["clean"]) == 2 * 16).all()
    for column in ("precision", "recall", "clean_flagged"):
        assert table[column].dropna().between(0.0, 1.0).all()
    # issue #14's check: readability falls as the share of documents put through it rises
    for _lang, dose in result.dose.groupby("lang"):
        assert dose.sort_values("corrupted share")["readability"].is_monotonic_decreasing
        assert dose["readability"].iloc[0] > dose["readability"].iloc[-1]
    assert set(result.by_source["source"]) == {"lee_news", "peoples_daily"}
    assert list(result.table["set"].unique()) == list(OPERATOR_SETS)
