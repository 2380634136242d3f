"""Effects as multiples of seed noise, and decision accuracy between model sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.study.effects import decision_accuracy, effects_against_base, seed_noise


def _table(shifts: dict[str, float], noise: float, seeds: int = 4, rng_seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(rng_seed)
    rows = []
    for corpus, shift in shifts.items():
        family = "base" if corpus == "base" else "CH"
        for seed in range(seeds):
            for volume, offset in ((1000, 0.5), (2000, 0.0)):  # only the last volume counts
                rows.append({"model": "m", "corpus": corpus, "family": family, "test_set": "t", "seed": seed,
                             "V": volume, "loss": 3.0 + offset + shift + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def test_seed_noise_recovers_the_simulated_spread() -> None:
    table = _table({name: 0.0 for name in ("base", "a", "b", "c", "d", "e")}, noise=0.05, seeds=8)
    noise = seed_noise(table)
    assert noise.dof == 6 * 7
    assert noise.sd == pytest.approx(0.05, rel=0.3)


def test_a_large_effect_is_detected_and_a_null_one_is_not() -> None:
    table = _table({"base": 0.0, "harmful": 0.3, "null": 0.0}, noise=0.02)
    noise = seed_noise(table)
    effects = {effect.corpus: effect for effect in effects_against_base(table, noise)}
    assert effects["harmful"].excludes_zero and effects["harmful"].delta > 0
    assert effects["harmful"].in_noise_units > 5
    assert not effects["null"].excludes_zero


def test_seed_noise_needs_two_seeds() -> None:
    with pytest.raises(ValueError, match="two seeds"):
        seed_noise(_table({"base": 0.0, "a": 0.1}, noise=0.01, seeds=1))


def test_decision_accuracy_counts_pairs_ordered_alike() -> None:
    small = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0})
    same = pd.Series({"a": 0.5, "b": 1.5, "c": 2.5, "d": 3.5})
    estimate, low, high = decision_accuracy(small, same, resamples=200)
    assert estimate == 1.0 and low == 1.0 and high == 1.0
    swapped = pd.Series({"a": 1.5, "b": 0.5, "c": 2.5, "d": 3.5})  # one of six pairs flips
    estimate, low, high = decision_accuracy(small, swapped, resamples=200)
    assert estimate == pytest.approx(5 / 6)
    assert low <= estimate <= high
