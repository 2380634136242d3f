"""The hand-labelled gold set (tests/fixtures/gold/): its schema, and the raters' agreement with it (Cohen's κ).

The labels were given by reading each excerpt against the Fig. 8 rubric before any rater was run on it; the
protocol is in docs/ATTRIBUTES.md. No threshold here was set to make a rater pass: κ > 0 is chance level.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from ziya2lab.attributes.config import RatersConfig
from ziya2lab.attributes.heldout_validation import gold_agreement
from ziya2lab.attributes.rate import FLAG_ATTRIBUTES
from ziya2lab.common.jsonl import read_jsonl

GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "gold" / "fig8_gold.jsonl"
FIELDS = {"id", "lang", "source", "noise", "status", "reason", "excerpt", "text", "labels", "note"}
EXCERPTS = {"whole", "paragraphs", "sentences", "hard_cut"}


@pytest.fixture(scope="module")
def gold() -> list[dict]:
    return read_jsonl(GOLD)


def test_the_gold_file_has_its_schema(gold: list[dict]) -> None:
    assert len(gold) >= 300
    assert len({record["id"] for record in gold}) == len(gold)
    for line, record in enumerate(gold, start=1):
        assert set(record) == FIELDS, f"{GOLD}:{line}: fields {sorted(record)}"
        assert record["lang"] in ("en", "zh") and record["status"] in ("kept", "removed"), f"{GOLD}:{line}"
        assert (record["reason"] is None) == (record["status"] == "kept"), f"{GOLD}:{line}: reason vs status"
        assert record["excerpt"] in EXCERPTS and 0 < len(record["text"]) <= 1200, f"{GOLD}:{line}"
        assert set(record["labels"]) == set(FLAG_ATTRIBUTES), f"{GOLD}:{line}: labels {record['labels']}"
        assert all(value in (0, 1) for value in record["labels"].values()), f"{GOLD}:{line}"
    # both languages, kept and removed documents, and both outcomes of both labels in each language
    assert {(record["lang"], record["status"]) for record in gold} == {(lang, status) for lang in ("en", "zh")
                                                                      for status in ("kept", "removed")}
    outcomes = Counter((record["lang"], name, record["labels"][name]) for record in gold for name in FLAG_ATTRIBUTES)
    assert all(outcomes[(lang, name, value)] >= 10 for lang in ("en", "zh") for name in FLAG_ATTRIBUTES
               for value in (0, 1)), outcomes


@pytest.mark.slow
def test_rater_agreement_with_the_gold_labels_is_computed_and_above_chance(gold: list[dict]) -> None:
    agreement = gold_agreement(gold, RatersConfig(sample_size=100_000))
    table = agreement.table.set_index(["rater", "lang"])
    assert set(table.index) == {(name, lang) for name in FLAG_ATTRIBUTES for lang in ("en", "zh", "all")}
    assert (table["documents"].loc[[(name, "all") for name in FLAG_ATTRIBUTES]] == len(gold)).all()
    assert all(math.isfinite(kappa) and -1.0 <= kappa <= 1.0 for kappa in table["kappa"])
    for name in FLAG_ATTRIBUTES:
        assert table.loc[(name, "all"), "kappa"] > 0.0, table  # better than chance, nothing more is claimed
    assert len(agreement.flags) == len(gold)
