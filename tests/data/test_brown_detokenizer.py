"""Brown's tagged tokens as running text: the packaging's doubled marks, doubled abbreviation periods and
token-quotes are undone."""

from __future__ import annotations

from ziya2lab.data.sources import _detokenize_brown


def test_doubled_marks_and_abbreviation_periods_are_collapsed() -> None:
    assert _detokenize_brown("How/wrb effective/jj ?/. ?/.") == "How effective?"
    assert _detokenize_brown("Section/nn 1/cd :/: :/: The/at") == "Section 1: The"
    assert _detokenize_brown("Henry/np 4/cd ,/, ,/, who/wps ;/. ;/. did/dod n't/*") == "Henry 4, who; didn't"
    assert _detokenize_brown("won/vbn by/in Ivan/np Allen/np Jr./np ./.") == "won by Ivan Allen Jr."


def test_quotation_marks_attach_to_the_words_they_enclose() -> None:
    tagged = "produced/vbd ``/`` no/at evidence/nn ''/'' that/cs ./. more/ap '/' pro/jj '/' letters/nns ./."
    assert _detokenize_brown(tagged) == "produced \"no evidence\" that. more 'pro' letters."
    assert _detokenize_brown("``/`` Yes/rb ''/'' ,/, he/pps said/vbd (/( twice/rb )/) ./.") == '"Yes", he said (twice).'
