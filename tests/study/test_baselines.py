"""The study's reference losses: a unigram table and a KenLM trigram over token ids."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from ziya2lab.study.baselines import baseline_losses, unigram_log_probs, unigram_loss


def test_unigram_table_is_a_normalised_add_half_distribution() -> None:
    log_probs = unigram_log_probs([[0, 0, 1]], vocab_size=4)
    probs = np.exp(log_probs)
    assert probs.sum() == pytest.approx(1.0)
    assert probs == pytest.approx(np.array([2.5, 1.5, 0.5, 0.5]) / 5.0)
    assert unigram_loss(log_probs, [[0, 1]]) == pytest.approx(-(math.log(0.5) + math.log(0.3)) / 2)


def test_unigram_loss_refuses_an_empty_test_set() -> None:
    with pytest.raises(ValueError, match="no test tokens"):
        unigram_loss(unigram_log_probs([[1]], 3), [[]])


def test_trigram_beats_unigram_on_text_with_local_structure() -> None:
    """A corpus of repeated 3-token phrases: a trigram predicts it far better than token frequencies do."""
    rng = random.Random(0)
    phrases = [[3 * k, 3 * k + 1, 3 * k + 2] for k in range(20)]
    documents = [[token for _ in range(40) for token in rng.choice(phrases)] for _ in range(30)]
    losses = baseline_losses(documents[:25], {"held_out": documents[25:]}, vocab_size=60, tag="test-baselines")
    held_out = losses["held_out"]
    assert held_out.tokens == 5 * 120
    assert held_out.unigram == pytest.approx(math.log(60), rel=0.05)  # 60 equally frequent tokens
    assert held_out.trigram < held_out.unigram - 1.0
