"""What the study concludes, on synthetic tables whose answers are known: curves, controls, sizes, base rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.study.conclusions import effects_and_controls, monotone_curves, size_axis

EFFECT = {"base": 0.0, "negative_control": 0.0, "positive_control": 0.5, "CH": 0.2}


def _table(noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """Two sizes, four corpora, two seeds, two test sets, V = 0 (base model) then three falling volumes."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, n, offset in (("small", 1e5, 0.3), ("large", 1e6, 0.0)):
        for test_set in ("en", "zh"):
            rows.append({RUN_COLUMN: f"{model}-pretrain", "model": model, "N": n, "V": 0, "corpus": "base",
                         "family": "base", "level": 0.0, "test_set": test_set, "loss": 5.0 + offset, "seed": 0})
        for corpus, effect in EFFECT.items():
            for seed_ in (0, 1):
                for test_set in ("en", "zh"):
                    for volume in (1000, 2000, 4000):
                        loss = 4.0 + offset + effect + 1000 / volume * 0.1 + rng.normal(0, noise)
                        rows.append({RUN_COLUMN: f"{model}-{corpus}-{seed_}", "model": model, "N": n, "V": volume,
                                     "corpus": corpus, "family": corpus, "level": 0.8 if corpus == "CH" else 0.0,
                                     "test_set": test_set, "loss": loss, "seed": seed_})
    return pd.DataFrame(rows)


def test_falling_curves_are_counted_with_the_base_model_first() -> None:
    table = _table(noise=0.0)
    assert monotone_curves(table)["fraction"] == 1.0
    rising = table.copy()
    rising.loc[(rising["V"] == 4000) & (rising[RUN_COLUMN] == "large-base-0") & (rising["test_set"] == "en"),
               "loss"] += 1.0
    result = monotone_curves(rising)
    assert result["fraction"] == 1 - 1 / result["sequences"]
    assert result["rising"] == [{"run": "large-base-0", "test_set": "en"}]
    per_test_set = len(EFFECT) * 2 * 2  # corpora x sizes x seeds
    assert result["by_test_set"] == {"en": 1 - 1 / per_test_set, "zh": 1.0}
    assert result["by_family"]["base"] == 1 - 1 / 8 and result["by_family"]["CH"] == 1.0
    cell = next(cell for cell in result["cells"] if (cell["family"], cell["test_set"]) == ("base", "en"))
    assert cell == {"family": "base", "test_set": "en", "fraction": 0.75, "sequences": 4}


def test_controls_positive_detected_negative_null() -> None:
    result = effects_and_controls(_table(), natural=["en"])
    assert result["verdict"] == {f"{control} ({scope})": True for control in ("negative control null",
                                                                              "positive control detected")
                                 for scope in ("all test sets", "natural-text test sets")}
    assert result["controls"]["positive_control (natural-text test sets)"]["cells"] == 2  # two sizes, one test set
    assert result["noise"]["sd"] < 0.05
    ch = [effect for effect in result["effects"] if effect["family"] == "CH"]
    assert all(abs(effect["delta"] - 0.2) < 0.05 and effect["level"] == 0.8 for effect in ch)


def test_the_larger_model_is_lower_and_orders_corpora_alike() -> None:
    [pair] = size_axis(_table(), resamples=50, seed=0)
    assert (pair["small"], pair["large"]) == ("small", "large")
    assert pair["larger_lower"] == 1.0
    assert set(pair["decision_accuracy"]) == {"en", "zh"}
    assert pair["mean_decision_accuracy"] >= 0.8  # base and negative control tie in truth: noise orders them
