"""Held-out validation: every frozen family is measured on held-out documents, and the figures are well-formed."""

from __future__ import annotations

import pytest

from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.document_sets import set_documents
from ziya2lab.attributes.heldout_operators import COHERENCE, READABILITY
from ziya2lab.attributes.heldout_validation import validate_heldout


@pytest.mark.slow
def test_every_held_out_family_is_scored_per_language() -> None:
    documents = set_documents({"en": ["lee_news"], "zh": ["peoples_daily"]}, 16, "heldout")
    result = validate_heldout(documents, RatersConfig(sample_size=10_000))
    table = result.table
    assert {(row.family, row.lang) for row in table.itertuples()} == {
        (family, lang) for family in [*READABILITY, *COHERENCE] for lang in ("en", "zh")}
    # every document is rated once corrupted (or clean, where the operator found nothing to change) and once clean
    assert ((table["corrupted"] + table["clean"]) == 2 * 16).all()
    for column in ("precision", "recall", "clean_flagged"):
        assert table[column].dropna().between(0.0, 1.0).all(), table
    # issue #14's check: readability falls as the share of documents put through it rises
    for lang, dose in result.dose.groupby("lang"):
        assert dose.sort_values("corrupted share")["readability"].is_monotonic_decreasing, (lang, dose)
        assert dose["readability"].iloc[0] > dose["readability"].iloc[-1]
    assert set(result.by_source["source"]) == {"lee_news", "peoples_daily"}
