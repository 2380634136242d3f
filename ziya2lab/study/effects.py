"""What a study can conclude: effects against the clean base as multiples of seed-to-seed noise, with intervals, and
DataDecide's decision accuracy between model sizes.

A single run per corpus cannot tell an effect from noise. With every corpus trained under several seeds, the spread
of the final loss across seeds, pooled over every (model, corpus, test set) cell, measures the noise; an effect is
the difference of seed means from the base corpus, with a t interval on the pooled variance. The positive and
negative controls show, on the same scale, what this study can and cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

CELL = ["model", "corpus", "test_set"]
BASE_FAMILY = "base"


@dataclass(frozen=True)
class SeedNoise:
    """The pooled standard deviation of the final loss across seeds, and its degrees of freedom."""

    sd: float
    dof: int
    cells: int


@dataclass(frozen=True)
class Effect:
    model: str
    corpus: str
    family: str
    test_set: str
    delta: float  # corpus seed mean − base seed mean (positive: the corpus is worse)
    low: float
    high: float
    in_noise_units: float  # delta / pooled seed sd

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def final_points(table: pd.DataFrame) -> pd.DataFrame:
    """Each run's last data volume: the rows an effect is measured on."""
    last_volume = table.groupby([*CELL, "seed"])["V"].transform("max")
    return table[table["V"] == last_volume]


def seed_noise(table: pd.DataFrame) -> SeedNoise:
    """Pooled within-cell variance of the final loss over seeds; fails if no cell has two seeds."""
    finals = final_points(table)
    grouped = finals.groupby(CELL)["loss"]
    sizes, variances = grouped.size(), grouped.var(ddof=1)
    usable = sizes >= 2
    if not usable.any():
        raise ValueError("no (model, corpus, test set) cell has two seeds: seed noise cannot be measured")
    dof = int((sizes[usable] - 1).sum())
    pooled = float(((sizes[usable] - 1) * variances[usable]).sum() / dof)
    return SeedNoise(float(np.sqrt(pooled)), dof, int(usable.sum()))


def effects_against_base(table: pd.DataFrame, noise: SeedNoise, level: float = 0.95) -> list[Effect]:
    """Every non-base corpus against the base corpus, per model and test set, at the final volume."""
    finals = final_points(table)
    means = finals.groupby(CELL).agg(loss=("loss", "mean"), seeds=("loss", "size"), family=("family", "first"))
    quantile = float(stats.t.ppf(0.5 + level / 2, noise.dof))
    effects = []
    for (model, corpus, test_set), row in means.iterrows():
        if row["family"] == BASE_FAMILY:
            continue
        base = means[(means.index.get_level_values("model") == model)
                     & (means.index.get_level_values("test_set") == test_set)
                     & (means["family"] == BASE_FAMILY)]
        if base.empty:
            continue
        base_row = base.iloc[0]
        delta = float(row["loss"] - base_row["loss"])
        half = quantile * noise.sd * float(np.sqrt(1 / row["seeds"] + 1 / base_row["seeds"]))
        effects.append(Effect(str(model), str(corpus), str(row["family"]), str(test_set), delta, delta - half,
                              delta + half, delta / noise.sd if noise.sd > 0 else float("inf")))
    return effects


def decision_accuracy(small: pd.Series, large: pd.Series, resamples: int = 1000, seed: int = 0,
                      level: float = 0.95) -> tuple[float, float, float]:
    """The fraction of corpus pairs ordered alike at two model sizes (DataDecide), with a bootstrap interval.

    ``small`` and ``large`` map corpus → loss (one test set). The interval resamples corpora with replacement; a pair
    drawn twice counts twice, and pairs of a corpus with its own copy are skipped.
    """
    corpora = sorted(set(small.index) & set(large.index))
    if len(corpora) < 2:
        raise ValueError("decision accuracy needs at least two corpora measured at both sizes")

    def accuracy(chosen: list[str]) -> float:
        pairs = [(a, b) for a, b in combinations(chosen, 2) if a != b]
        agree = [np.sign(small[a] - small[b]) == np.sign(large[a] - large[b]) for a, b in pairs]
        return float(np.mean(agree)) if agree else float("nan")

    estimate = accuracy(corpora)
    rng = np.random.default_rng(seed)
    samples = [accuracy(list(rng.choice(corpora, size=len(corpora), replace=True))) for _ in range(resamples)]
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return estimate, float(low), float(high)
