"""Per-document flags for the Fig. 8 rubric and the corpus value the paper reports from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class DocumentFlag:
    """One document's verdict: ``flagged`` is the rubric's binary label (1 = has the problem).

    ``severity`` is a continuous score, 0 for a clean document and growing with the evidence (events per 100
    tokens, one minus the worst topic-break cosine, the judge's probability of "1"); ``reasons`` names the signals.
    """

    doc_id: str
    flagged: bool
    severity: float
    reasons: list[str] = field(default_factory=list)


class FlagRater(Protocol):
    """A coherence or readability rater: a flag per document."""

    attribute: str

    def rate(self, docs: list[dict]) -> list[DocumentFlag]: ...


def corpus_value(flags: list[DocumentFlag]) -> float:
    """The paper's normalisation: 1 − (flagged fraction), so higher is better."""
    if not flags:
        raise ValueError("no documents were rated: the corpus sample is empty")
    return 1.0 - sum(flag.flagged for flag in flags) / len(flags)
