"""Start grids derived from the data, the default of every law.

A literal grid is written for one scale of data: the paper's Ziya2 grid puts F at 10¹² tokens (13B continual
pre-training), so on a table whose V spans 10⁵–10¹¹ every start has D_eff ≈ F constant, the gradient vanishes and
the optimiser returns its start (issue 14). Here every start is placed *by what it predicts on this table*:

- the floor E is a fraction of the smallest observed loss (every term of L is positive, so E < min L);
- a power term K·X^−κ is given, at the median of log X, a share of the excess L_median − E, so its coefficient is
  log K = log(share·excess) + κ·median(log X) at any scale of X;
- Ziya2's effective data D_eff = q·V + F (q = A·CH + B·RA + C·SIM) is solved from D_eff^−α = excess at the median
  V, with F set at a ratio ρ to q·V_min (from negligible to dominant over the range of V), and q split over A, B,
  C in a few proportions of the attributes' means.

The exponents, floor fractions, shares, ratios and splits below are a coarse net over the shapes a law can take;
every start is scored in one vectorised pass and only the best are optimised (fitting.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

EXPONENTS = (0.03, 0.1, 0.3, 0.7, 1.5)  # α, β: log-spaced over the exponents seen in practice
FLOOR_FRACTIONS = (0.05, 0.5, 0.8, 0.95)  # E / min(loss)
SHARES = (0.2, 0.5, 0.8)  # a two-term law's first term's share of the excess at the median
F_RATIOS = (0.01, 0.3, 10.0, 300.0)  # F / (q·V_min): from negligible to dominant at the smallest V
SPLITS = ((1, 1, 1), (5, 1, 1), (1, 5, 1), (1, 1, 5), (0.2, 1, 1), (1, 0.2, 1), (1, 1, 0.2))  # A : B : C weights
LOG_CEILING = 700.0  # exp() of more overflows float64


def product(*axes: Sequence[float]) -> np.ndarray:
    """(combinations, axes): the Cartesian product of the axes' values, one column per axis."""
    return np.array(list(itertools.product(*axes)), dtype=np.float64)


def floors(loss: np.ndarray) -> np.ndarray:
    """Start values of E: fractions of the smallest loss."""
    return np.asarray(FLOOR_FRACTIONS) * float(np.min(loss))


def log_excess(loss: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """log(L_median − E) for each start's floor E (positive: E < min L ≤ median L)."""
    return np.log(float(np.median(loss)) - floor)


def log_coefficient(log_share: np.ndarray, exponent: np.ndarray, values: np.ndarray) -> np.ndarray:
    """log K such that K·X^−κ equals exp(log_share) at the median of log X."""
    return log_share + exponent * float(np.median(np.log(values)))


def effective_data_starts(log_excess_at_median: np.ndarray, exponent: np.ndarray, ratio: np.ndarray,
                          split: np.ndarray, data: dict[str, np.ndarray],
                          columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients (B, 3), log F (B,)) for D_eff = q·V + F with D_eff^−exponent = excess at the median V.

    F = ratio·q·V_min, and q = A·CH + B·RA + C·SIM with A : B : C in the proportions ``split`` (B, 3) over the
    attributes' means. V_min and the median are over the rows with V > 0: a V = 0 row (the model before the corpus,
    D_eff = F) says nothing about the scale of q.
    """
    volume = data["V"][data["V"] > 0]
    if volume.size == 0:
        raise ValueError("every row has V = 0: the effective data's scale, q·V, is not in the data")
    log_d = np.minimum(-log_excess_at_median / exponent, LOG_CEILING)
    log_q = log_d - np.log(float(np.median(volume)) + ratio * float(volume.min()))
    means = np.array([max(float(np.mean(data[column])), 1e-12) for column in columns])
    weights = split / (split @ means)[:, None]
    coefficients = np.exp(np.minimum(log_q, LOG_CEILING))[:, None] * weights
    return coefficients, log_q + np.log(ratio * float(volume.min()))
