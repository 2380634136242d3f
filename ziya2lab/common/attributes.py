"""The three data attributes of Ziya2 (§3): one definition, with every name each layer uses for them.

The raters report ``coherence``/``readability``/``similarity``; tables carry the columns ``CH``/``RA``/``SIM``;
Ziya2's law (Eq. 3) weighs them by the coefficients ``A``/``B``/``C``. Every package translates through this table
and spells none of the three vocabularies itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attribute:
    rater: str  # the rater's name and the key in attributes.json
    column: str  # the results-table column, and the family of corpora that moves it
    coefficient: str  # its coefficient in Ziya2's law, D_eff = (A·CH + B·RA + C·SIM)·V + F
    description: str


COHERENCE = Attribute("coherence", "CH", "A", "coherence: text that stays on one topic and reads as one document")
READABILITY = Attribute("readability", "RA", "B", "readability: well-formed, fluent language")
SIMILARITY = Attribute("similarity", "SIM", "C", "similarity to the downstream test sets")

ATTRIBUTES: tuple[Attribute, ...] = (COHERENCE, READABILITY, SIMILARITY)
COLUMNS: tuple[str, ...] = tuple(attribute.column for attribute in ATTRIBUTES)  # ("CH", "RA", "SIM")
RATERS: tuple[str, ...] = tuple(attribute.rater for attribute in ATTRIBUTES)
BY_COLUMN = {attribute.column: attribute for attribute in ATTRIBUTES}
BY_RATER = {attribute.rater: attribute for attribute in ATTRIBUTES}

# The resampling unit of every table: one training run (its data volumes and test sets are not independent).
RUN_COLUMN = "run_id"
