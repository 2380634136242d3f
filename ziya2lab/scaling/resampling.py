"""How a bootstrap redraws a table of runs: whole runs with replacement, or the fit's residuals around the fitted law.

- **runs** (``run_weights``): every resample draws the table's runs with replacement, the points of a run together
  (Epoch's and OLMo's bootstrap, over rows when the table names no runs). It conditions on nothing: with few runs a
  resample loses whole corpora or attribute levels, and the spread of its refits understates that of a new
  experiment (docs/SCALING.md measures its coverage).
- **residual** (``residual_targets``): the design stays as it was run (the same runs at the same V, N, CH, RA,
  SIM); a resample is the fitted law plus the fit's own residuals, redrawn at two levels:
  - each run's mean residual is multiplied by one random weight per run, so an offset shared by all points of a
    run (a seed effect) is redrawn as a whole;
  - each point's deviation from its run's mean is multiplied by one random sign per point (a wild bootstrap,
    which keeps every point's own noise scale), re-centred within its run so that the run means are only redrawn
    once, and rescaled by √(m/(m − 1)) for the m points of the run to restore the variance the centring removes.
  The run weights are Webb's six-point distribution (mean 0, variance 1; 6^G distinct patterns, where
  Rademacher's ±1 gives only 2^G with few runs), the point signs Rademacher's.

Residuals are smaller than the noise they stand for: a fit pulls its curve towards the points it fits, most
towards a run that pins a parameter by itself. Before redrawing, each run's residual vector r_g is therefore
replaced by (I − H_gg)^−½ r_g, H the hat matrix of the fit linearised at its optimum (Bell & McCaffrey's CR2
adjustment): under the law with independent noise of variance σ² this has covariance σ²·I, so the redrawn noise
has the size of the real one. A direction that one run's points fix completely (an eigenvalue of I − H_gg near 0)
carries no residual to inflate; its factor is capped at ``1/√LEVERAGE_FLOOR``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ziya2lab.common.attributes import RUN_COLUMN

RUNS = "runs"
RESIDUAL = "residual"
RESAMPLINGS = (RESIDUAL, RUNS)
LEVERAGE_FLOOR = 0.01  # smallest eigenvalue of I − H_gg used: residuals are inflated at most 10x
RANK_TOLERANCE = 1e-8  # singular values of the column-scaled Jacobian below this share of the largest: no direction
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def run_groups(table: pd.DataFrame, unit: str | None = None) -> np.ndarray:
    """Each row's resampling unit as 0..G−1: ``unit``'s groups, else the run column's (``RUN_COLUMN``), else the
    row itself."""
    unit = unit or (RUN_COLUMN if RUN_COLUMN in table else None)
    if unit is not None and unit not in table:
        raise KeyError(f"no column {unit!r} to resample by; the table has {list(table.columns)}")
    return table.groupby(unit, sort=True).ngroup().to_numpy() if unit else np.arange(len(table))


def run_weights(table: pd.DataFrame, n: int, seed: int, unit: str | None = None) -> np.ndarray:
    """(n, rows): how often each row is drawn when ``n`` resamples draw whole runs (``run_groups``) with
    replacement."""
    row_unit = run_groups(table, unit)
    units = int(row_unit.max()) + 1
    draws = np.random.default_rng(seed).integers(0, units, size=(n, units))
    flat = (draws + units * np.arange(n)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n * units).reshape(n, units)
    return counts[:, row_unit].astype(np.float64)


def hat_matrix(jacobian: np.ndarray) -> np.ndarray:
    """(rows, rows): the projection onto the directions the fit can move its log predictions in (the column space
    of ∂log L̂/∂θ, columns scaled to unit norm so that parameters of very different scales count alike)."""
    norms = np.linalg.norm(jacobian, axis=0)
    scaled = jacobian[:, norms > 0] / norms[norms > 0]
    if scaled.shape[1] == 0:
        return np.zeros((len(jacobian), len(jacobian)))
    basis, singular, _ = np.linalg.svd(scaled, full_matrices=False)
    basis = basis[:, singular > RANK_TOLERANCE * singular.max()]
    return basis @ basis.T


def leverage_adjusted(residuals: np.ndarray, jacobian: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each run's residuals times (I − H_gg)^−½ (module docstring); ``jacobian`` holds the free parameters only."""
    hat = hat_matrix(jacobian)
    adjusted = np.empty_like(residuals)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        block = np.eye(len(rows)) - hat[np.ix_(rows, rows)]
        values, vectors = np.linalg.eigh((block + block.T) / 2)
        adjusted[rows] = vectors @ (np.maximum(values, LEVERAGE_FLOOR) ** -0.5 * (vectors.T @ residuals[rows]))
    return adjusted


def residual_targets(fitted: np.ndarray, residuals: np.ndarray, jacobian: np.ndarray, groups: np.ndarray, n: int,
                     seed: int) -> np.ndarray:
    """(n, rows) redrawn log losses: the fitted log losses plus the leverage-adjusted residuals redrawn at the run
    and the point level (module docstring)."""
    adjusted = leverage_adjusted(residuals, jacobian, groups)
    units = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=units).astype(np.float64)
    means = np.bincount(groups, adjusted, units) / sizes
    deviations = adjusted - means[groups]
    rng = np.random.default_rng(seed)
    run_draws = rng.choice(WEBB, size=(n, units))
    flipped = rng.choice([-1.0, 1.0], size=(n, len(groups))) * deviations[None]
    centred = flipped - (np.stack([np.bincount(groups, row, units) for row in flipped]) / sizes)[:, groups]
    restore = np.sqrt(np.where(sizes > 1, sizes / np.maximum(sizes - 1, 1), 0.0))[groups]
    return fitted[None] + run_draws[:, groups] * means[groups][None] + restore[None] * centred
