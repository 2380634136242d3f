"""How a bootstrap redraws a table: whole runs, or the fit's leverage-adjusted residuals per run and per point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.scaling.resampling import (
    WEBB,
    hat_matrix,
    leverage_adjusted,
    residual_targets,
    run_groups,
    run_weights,
)


def test_resampling_runs_draws_whole_runs() -> None:
    table = pd.DataFrame({RUN_COLUMN: [0, 0, 0, 1, 1, 2], "V": 1.0, "loss": 1.0})
    weights = run_weights(table, 50, seed=0)
    assert np.allclose(weights[:, :3], weights[:, :1])  # a run's rows are drawn together
    assert (weights.reshape(50, -1)[:, [0, 3, 5]].sum(axis=1) == 3).all()  # three runs drawn per resample


def test_a_missing_resampling_unit_is_named() -> None:
    with pytest.raises(KeyError, match="'seed'"):
        run_groups(pd.DataFrame({"V": [1.0]}), "seed")
    assert (run_groups(pd.DataFrame({"V": [1.0, 2.0]})) == [0, 1]).all()  # no runs: every row its own


def _design(rng: np.random.Generator, runs: int = 6, points: int = 5) -> tuple[np.ndarray, np.ndarray]:
    groups = np.repeat(np.arange(runs), points)
    jacobian = np.column_stack([np.ones(len(groups)), rng.normal(size=len(groups)), rng.normal(size=len(groups))])
    return jacobian, groups


def test_the_leverage_adjustment_restores_the_noise_variance() -> None:
    """Residuals of a least-squares fit are smaller than the noise (variance σ²(n − p)/n on average); after the
    adjustment they have the noise's variance."""
    rng = np.random.default_rng(0)
    jacobian, groups = _design(rng)
    projection = np.eye(len(groups)) - hat_matrix(jacobian)
    raw, adjusted = [], []
    for _ in range(2000):
        residuals = projection @ rng.normal(0, 1, len(groups))
        raw.append(np.mean(residuals**2))
        adjusted.append(np.mean(leverage_adjusted(residuals, jacobian, groups) ** 2))
    assert np.mean(raw) == pytest.approx((len(groups) - 3) / len(groups), rel=0.02)
    assert np.mean(adjusted) == pytest.approx(1.0, rel=0.02)


def test_redrawn_noise_keeps_run_means_and_point_scales() -> None:
    rng = np.random.default_rng(1)
    jacobian, groups = _design(rng)
    residuals = (np.eye(len(groups)) - hat_matrix(jacobian)) @ (rng.normal(0, 1, 6)[groups] + rng.normal(0, 1, 30))
    adjusted = leverage_adjusted(residuals, jacobian, groups)
    run_means = np.array([adjusted[groups == run].mean() for run in range(6)])
    fitted = np.linspace(1.0, 2.0, len(groups))
    noise = residual_targets(fitted, residuals, jacobian, groups, 400, seed=0) - fitted
    redrawn_means = np.stack([noise[:, groups == run].mean(axis=1) for run in range(6)], axis=1)
    ratios = redrawn_means / run_means  # each run's mean redrawn whole, by one of Webb's six weights
    assert np.isin(np.round(ratios, 9), np.round(WEBB, 9)).all()
    assert len(np.unique(np.round(ratios[:, 0], 9))) == 6
    deviations = noise - redrawn_means[:, groups]
    expected = (adjusted - run_means[groups]) ** 2 * 5 / 4 * (1 - 2 / 5) + np.array(
        [((adjusted - run_means[groups])[groups == run] ** 2).sum() for run in range(6)])[groups] / 25 * 5 / 4
    assert np.mean(deviations**2, axis=0) == pytest.approx(expected, rel=0.25)  # each point keeps its own scale


def test_the_same_seed_redraws_the_same_tables() -> None:
    rng = np.random.default_rng(2)
    jacobian, groups = _design(rng)
    residuals = rng.normal(0, 0.01, len(groups))
    first = residual_targets(np.zeros(len(groups)), residuals, jacobian, groups, 5, seed=3)
    assert np.array_equal(first, residual_targets(np.zeros(len(groups)), residuals, jacobian, groups, 5, seed=3))
    assert not np.array_equal(first, residual_targets(np.zeros(len(groups)), residuals, jacobian, groups, 5, seed=4))
