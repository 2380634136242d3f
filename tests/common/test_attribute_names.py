"""One definition of the three attributes: the rater, column and coefficient vocabularies map one to one."""

from __future__ import annotations

from ziya2lab.common.attributes import ATTRIBUTES, BY_COLUMN, BY_RATER, COLUMNS, RATERS, RUN_COLUMN


def test_the_three_vocabularies_are_in_one_to_one_correspondence():
    for vocabulary in (RATERS, COLUMNS, tuple(attribute.coefficient for attribute in ATTRIBUTES)):
        assert len(vocabulary) == len(set(vocabulary)) == len(ATTRIBUTES) == 3
    for attribute in ATTRIBUTES:
        assert BY_COLUMN[attribute.column] is attribute
        assert BY_RATER[attribute.rater] is attribute


def test_the_paper_s_names_and_order():
    """Ziya2 §3 / Eq. 3: coherence CH ↔ A, readability RA ↔ B, similarity SIM ↔ C, in this order."""
    assert [(a.rater, a.column, a.coefficient) for a in ATTRIBUTES] == [
        ("coherence", "CH", "A"), ("readability", "RA", "B"), ("similarity", "SIM", "C")]
    assert COLUMNS == ("CH", "RA", "SIM") and RATERS == ("coherence", "readability", "similarity")


def test_names_never_collide_across_vocabularies():
    """A name means one thing: no rater name is a column or a coefficient, nor the run column."""
    names = [*RATERS, *COLUMNS, *(attribute.coefficient for attribute in ATTRIBUTES), RUN_COLUMN]
    assert len(names) == len(set(names))
