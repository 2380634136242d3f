"""Reference losses that say whether a trained model learned anything: a smoothed unigram table and a
Kneser–Ney trigram, both fitted to a run's training tokens under the study's own tokenizer.

A model that sits a fraction of a nat below the unigram table of its training corpus has learned little beyond token
frequencies, whatever its fits say; the report prints both baselines beside every test-set loss, in nats per token
(the trainer's unit). The trigram comes from KenLM's ``lmplz`` (modified Kneser–Ney) over token ids, cached by
content like the data factory's models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ziya2lab.data.kenlm_model import train_lines_model

LN10 = math.log(10.0)
UNIGRAM_ADD_K = 0.5  # Jeffreys-style add-½ smoothing: every vocabulary entry keeps some mass
TRIGRAM_ORDER = 3
KENLM_LINE_TOKENS = 512  # long documents are cut into lines: lmplz holds a line's n-grams in memory


@dataclass(frozen=True)
class BaselineLosses:
    """Nats per token on one test set."""

    unigram: float
    trigram: float
    tokens: int


def unigram_log_probs(train_ids: Iterable[Sequence[int]], vocab_size: int, add_k: float = UNIGRAM_ADD_K) -> np.ndarray:
    """log p(token) of an add-k smoothed unigram table over every vocabulary entry, shape (vocab_size,)."""
    counts = np.zeros(vocab_size, dtype=np.float64)
    for ids in train_ids:
        np.add.at(counts, np.asarray(ids, dtype=np.int64), 1.0)
    smoothed = counts + add_k
    return np.log(smoothed / smoothed.sum())


def unigram_loss(log_probs: np.ndarray, test_ids: Iterable[Sequence[int]]) -> float:
    """Mean NLL (nats per token) of ``test_ids`` under the unigram table."""
    total, count = 0.0, 0
    for ids in test_ids:
        ids = np.asarray(ids, dtype=np.int64)
        total -= float(log_probs[ids].sum())
        count += ids.size
    if count == 0:
        raise ValueError("no test tokens to score the unigram baseline on")
    return total / count


def _token_lines(ids_per_document: Iterable[Sequence[int]]) -> list[str]:
    lines = []
    for ids in ids_per_document:
        for start in range(0, len(ids), KENLM_LINE_TOKENS):
            chunk = ids[start : start + KENLM_LINE_TOKENS]
            if len(chunk):
                lines.append(" ".join(f"t{token}" for token in chunk))
    return lines


def trigram_model(train_ids: Sequence[Sequence[int]], tag: str):
    """A modified Kneser–Ney trigram of ``train_ids`` (KenLM ``lmplz``), cached by content."""
    import kenlm

    return kenlm.Model(str(train_lines_model(_token_lines(train_ids), tag, TRIGRAM_ORDER, TRIGRAM_ORDER)))


def trigram_loss(model, test_ids: Sequence[Sequence[int]]) -> float:
    """Mean NLL (nats per token) of ``test_ids`` under a KenLM ``model``.

    Each line is scored without sentence boundaries, so every test token is predicted exactly once, like the trainer's
    windows predict every token after the first.
    """
    log10_total, count = 0.0, 0
    for line in _token_lines(test_ids):
        log10_total += model.score(line, bos=False, eos=False)
        count += line.count(" ") + 1
    if count == 0:
        raise ValueError("no test tokens to score the trigram baseline on")
    return -log10_total * LN10 / count


def baseline_losses(train_ids: Sequence[Sequence[int]], test_sets: dict[str, Sequence[Sequence[int]]],
                    vocab_size: int, tag: str) -> dict[str, BaselineLosses]:
    """Unigram and trigram losses of one training corpus on every test set."""
    log_probs = unigram_log_probs(train_ids, vocab_size)
    trigram = trigram_model(train_ids, tag)
    return {
        name: BaselineLosses(unigram_loss(log_probs, ids), trigram_loss(trigram, ids),
                             int(sum(len(document) for document in ids)))
        for name, ids in test_sets.items()
    }
