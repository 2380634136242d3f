"""A bigram LM over the rated sample itself, scored leave-one-document-out, for word-order noise.

Word-order noise is a perplexity spike of a particular shape: putting two adjacent units back in the other order
makes the text much more probable. The *reorder gain* of a pair is log P(with the pair swapped) minus log P(as
written). Counts come from the rated sample minus the scored document's own counts, so no external model is
needed and the LM is in-domain; clean documents dominate the counts because corrupted ones are a minority.

A long clean document has some large gains by chance (a sparse LM), so a document is flagged only when it has
significantly *more* spikes than the sample's typical rate predicts (a one-sided Poisson test); a fixed count
would flag nearly every long document. Counts are looked up in sorted NumPy arrays, so a 1,000-document sample
scores in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import poisson

DISCOUNT = 0.75


def _lookup(keys: np.ndarray, table_keys: np.ndarray, table_counts: np.ndarray) -> np.ndarray:
    if table_keys.size == 0:
        return np.zeros(keys.shape)
    position = np.searchsorted(table_keys, keys).clip(0, table_keys.size - 1)
    return np.where(table_keys[position] == keys, table_counts[position], 0).astype(float)


class LeaveOneOutBigrams:
    """Absolute-discount bigram model with unigram back-off; gains exclude the scored document's own counts."""

    def __init__(self, docs_units: Sequence[Sequence[str]]) -> None:
        vocabulary: dict[str, int] = {}
        self.doc_ids = [
            np.array([vocabulary.setdefault(unit, len(vocabulary)) for unit in units], dtype=np.int64)
            for units in docs_units
        ]
        self.size = len(vocabulary) + 1
        every_id = np.concatenate([*self.doc_ids, np.zeros(0, np.int64)])
        self.unigrams = np.bincount(every_id, minlength=self.size).astype(float)
        keys = np.concatenate([ids[:-1] * self.size + ids[1:] for ids in self.doc_ids] + [np.zeros(0, np.int64)])
        self.bigram_keys, self.bigram_counts = np.unique(keys, return_counts=True)
        self.follower_types = np.bincount(self.bigram_keys // self.size, minlength=self.size).astype(float)
        self.total = float(every_id.size)

    def reorder_gains(self, doc_index: int) -> np.ndarray:
        """Reorder gain of every adjacent pair of document ``doc_index``, its own counts left out."""
        ids, size = self.doc_ids[doc_index], self.size
        if ids.size < 2:
            return np.zeros(0)
        own_unigram_keys, own_unigram_counts = np.unique(ids, return_counts=True)
        own_bigram_keys, own_bigram_counts = np.unique(ids[:-1] * size + ids[1:], return_counts=True)
        own_types = np.bincount(own_bigram_keys // size, minlength=size).astype(float)
        denominator = self.total - ids.size + size

        def unigram(units: np.ndarray) -> np.ndarray:
            return self.unigrams[units] - _lookup(units, own_unigram_keys, own_unigram_counts)

        def logprob(left: np.ndarray, right: np.ndarray) -> np.ndarray:
            p_unigram = (unigram(right) + 1) / denominator
            left_count = unigram(left)
            pair_keys = left * size + right
            pair = _lookup(pair_keys, self.bigram_keys, self.bigram_counts) - _lookup(
                pair_keys, own_bigram_keys, own_bigram_counts
            )
            types = np.maximum(self.follower_types[left] - own_types[left], 1.0)
            smoothed = (np.maximum(pair - DISCOUNT, 0.0) + DISCOUNT * types * p_unigram) / np.maximum(left_count, 1.0)
            return np.where(left_count > 0, np.log(smoothed), np.log(p_unigram))

        first, second = ids[:-1], ids[1:]
        gains = logprob(second, first) - logprob(first, second)
        gains[1:] += logprob(ids[:-2], second[1:]) - logprob(ids[:-2], first[1:])  # the unit before the pair
        gains[:-1] += logprob(first[:-1], ids[2:]) - logprob(second[:-1], ids[2:])  # the unit after it
        gains[first == second] = 0.0
        return gains

    def spike_outliers(self, spike_logprob: float, alpha: float) -> list[bool]:
        """Per document: does it hold significantly more reorder spikes than the sample's median rate predicts?"""
        gains = [self.reorder_gains(index) for index in range(len(self.doc_ids))]
        spikes = np.array([int((doc_gains > spike_logprob).sum()) for doc_gains in gains])
        pairs = np.array([max(doc_gains.size, 1) for doc_gains in gains])
        rate = float(np.median(spikes / pairs)) if len(gains) else 0.0
        if rate == 0.0:  # too few spikes to estimate a background: any spike would be "significant"
            return [False] * len(gains)
        return [bool(p < alpha) for p in poisson.sf(spikes - 1, rate * pairs)]
