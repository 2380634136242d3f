"""A bigram LM over the rated sample itself, scored leave-one-document-out, for word-order noise.

Word-order noise is a perplexity spike of a particular shape: putting two adjacent units back in the other order
makes the text much more probable. The *reorder gain* of a pair is log P(with the pair swapped) minus log P(as
written); a document containing a pair with a large gain reads as scrambled. Counts come from the rated
sample, minus the document's own counts, so no external model or download is needed and the LM is in-domain;
in-domain clean documents dominate the counts because corrupted ones are a minority of any corpus.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

DISCOUNT = 0.75


class LeaveOneOutBigrams:
    """Absolute-discount bigram model with unigram back-off; ``score`` excludes the scored document's counts."""

    def __init__(self, docs_units: Sequence[Sequence[str]]) -> None:
        self.unigrams: Counter = Counter()
        self.bigrams: Counter = Counter()
        for units in docs_units:
            self.unigrams.update(units)
            self.bigrams.update(itertools.pairwise(units))
        self.followers: Counter = Counter(left for left, _right in self.bigrams)
        self.total = sum(self.unigrams.values())
        self.vocabulary = len(self.unigrams) + 1

    def reorder_gains(self, units: Sequence[str], document_units: Sequence[str]) -> list[float]:
        """Reorder gain of every adjacent pair (units[i], units[i+1]), with ``document_units`` left out."""
        own_uni = Counter(document_units)
        own_bi = Counter(itertools.pairwise(document_units))
        own_followers = Counter(left for left, _right in own_bi)

        def logprob(left: str | None, right: str) -> float:
            uni_right = self.unigrams[right] - own_uni[right]
            p_uni = (uni_right + 1) / (self.total - len(document_units) + self.vocabulary)
            if left is None:
                return math.log(p_uni)
            left_count = self.unigrams[left] - own_uni[left]
            if left_count <= 0:
                return math.log(p_uni)
            pair = self.bigrams[(left, right)] - own_bi[(left, right)]
            types = self.followers[left] - own_followers[left]
            # Types that now have zero count still hold back-off mass; an overestimate bounded by own counts.
            return math.log((max(pair - DISCOUNT, 0.0) + DISCOUNT * max(types, 1) * p_uni) / left_count)

        gains = []
        for i in range(len(units) - 1):
            a, b = units[i], units[i + 1]
            if a == b:
                gains.append(0.0)
                continue
            before = units[i - 1] if i > 0 else None
            after = units[i + 2] if i + 2 < len(units) else None
            as_written = logprob(before, a) + logprob(a, b) + (logprob(b, after) if after else 0.0)
            swapped = logprob(before, b) + logprob(b, a) + (logprob(a, after) if after else 0.0)
            gains.append(swapped - as_written)
        return gains
