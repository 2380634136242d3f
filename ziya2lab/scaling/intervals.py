"""Confidence intervals of fitted parameters that cannot be mistaken for what they are not.

An ``Interval`` is either a confidence interval or *degenerate*: then ``low`` and ``high`` are NaN, ``reason`` says
why, ``str()`` prints "degenerate", and unpacking it gives (nan, nan). A percentile-bootstrap interval is
degenerate when it has zero width (every resample at one value, e.g. a coefficient at its bound) or when the
resamples never left their starts (the refits returned their starting point: a plateau, not a distribution).

Two kinds of interval:
- ``percentile``: the percentile bootstrap over runs (FitResult.bootstrap). It under-covers when runs are few: the
  resamples of six runs cannot show the spread of a seventh.
- ``profile``: the profile likelihood of the robust (Huber) objective. For parameter ψ, minimise the objective
  f over the others at each fixed ψ; the drop-in-dispersion statistic S(ψ) = 2ξ·(f(ψ) − f̂), with ξ the ratio of
  the mean Huber curvature to the mean squared Huber slope of the residuals (Schrader & Hettmansperger 1980), is
  asymptotically χ²₁, so the interval is {ψ : S(ψ) ≤ χ²₁(level)}. For |r| ≤ δ everywhere it is the Gaussian
  likelihood-ratio interval with σ² estimated from the residuals. A side the data do not bound is ±∞ (0 or ∞
  for log-scale parameters), not a number. Points are treated as independent given the law.

``bound_test`` asks whether a parameter's lower bound (a zero coefficient) is supported: S at the bound against
the ½χ²₀ + ½χ²₁ mixture of a boundary null (Self & Liang 1987).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import chi2, norm

from ziya2lab.scaling.newton import newton_solve

if TYPE_CHECKING:
    from ziya2lab.scaling.fitting import FitResult

PERCENTILE = "percentile bootstrap over runs"
PROFILE = "profile likelihood (robust LR)"
STUCK_SHARE = 0.5  # more than this share of resamples that never left their start: the bootstrap is degenerate
PROFILE_STEPS = np.array([0.5, 1, 1.5, 2, 3, 4])  # multiples of the quadratic half-width, outward
EXPANSIONS = 4  # times the profile's search range is widened (×4 each) before a side is called unbounded


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str
    level: float
    reason: str = ""  # why this is *not* a confidence interval; empty when it is one

    @classmethod
    def degenerate_because(cls, reason: str, method: str, level: float) -> Interval:
        return cls(float("nan"), float("nan"), method, level, reason)

    @property
    def degenerate(self) -> bool:
        return bool(self.reason)

    def __iter__(self) -> Iterator[float]:
        return iter((self.low, self.high))

    def contains(self, value: float) -> bool:
        return not self.degenerate and self.low <= value <= self.high

    def __str__(self) -> str:
        return f"degenerate ({self.reason})" if self.degenerate else f"[{self.low:.6g}, {self.high:.6g}]"

    def to_dict(self) -> dict[str, float | str | bool]:
        return {"low": self.low, "high": self.high, "method": self.method, "level": self.level,
                "degenerate": self.degenerate, "reason": self.reason}


def bootstrap_degeneracy(stuck: np.ndarray, fit_failed: bool) -> str:
    """Why a whole bootstrap carries no uncertainty ("" if it may): a failed fit, or refits that never moved."""
    if fit_failed:
        return "the fit itself failed its checks"
    if stuck.mean() > STUCK_SHARE:
        return (f"{stuck.sum()} of {len(stuck)} resamples never left their start: the refits sit on a plateau, so "
                "their spread says nothing about the uncertainty")
    return ""


def percentile_intervals(samples: dict[str, np.ndarray], level: float, bounds: dict[str, float],
                         degenerate: str = "") -> dict[str, Interval]:
    """Percentile intervals of bootstrap ``samples`` (reported parameters), degenerate where they carry no spread.

    ``bounds`` are the reported lower bounds; ``degenerate`` says why the whole bootstrap is (then every interval
    is).
    """
    tail = (1 - level) / 2 * 100
    if degenerate:
        return {name: Interval.degenerate_because(degenerate, PERCENTILE, level) for name in samples}
    intervals = {}
    for name, values in samples.items():
        finite = values[np.isfinite(values)]
        if len(finite) < len(values):
            intervals[name] = Interval.degenerate_because(f"{len(values) - len(finite)} resamples are not finite",
                                                          PERCENTILE, level)
            continue
        low, high = np.percentile(finite, [tail, 100 - tail])
        if high - low <= 1e-9 * max(abs(low), abs(high)):
            where = f"at its bound {bounds[name]:g}" if name in bounds and abs(low - bounds[name]) < 1e-12 else \
                f"at {low:.6g}"
            intervals[name] = Interval.degenerate_because(
                f"zero width: every resample {where}; ask FitResult.profile() or bound_test() instead",
                PERCENTILE, level)
        else:
            intervals[name] = Interval(float(low), float(high), PERCENTILE, level)
    return intervals


def robust_scale(residuals: np.ndarray, delta: float, parameters: int) -> float | None:
    """ξ = E ψ′(r) / E ψ(r)² for the Huber ψ = clip(r, ±δ), E ψ² over n − p degrees of freedom; None without them.

    E ψ′(r) = P(|r| ≤ δ) is estimated with the residuals' Gaussian-kernel density (Silverman's bandwidth) rather
    than by counting, so it stays estimable when the noise is much wider than δ and few residuals fall within it
    (then P ≈ 2δ·f(0) and the statistic becomes the least-absolute-deviations test).
    """
    n = len(residuals)
    if n <= parameters + 1:
        return None
    spread = min(np.std(residuals), np.subtract(*np.percentile(residuals, [75, 25])) / 1.34) or np.std(residuals)
    bandwidth = 0.9 * spread * n ** -0.2
    if bandwidth > 0:
        inside = float(np.mean(norm.cdf((delta - residuals) / bandwidth) - norm.cdf((-delta - residuals) / bandwidth)))
    else:
        inside = float(np.mean(np.abs(residuals) <= delta))
    squared_slope = float((np.clip(residuals, -delta, delta) ** 2).sum() / (n - parameters))
    return inside / squared_slope if inside > 0 and squared_slope > 0 else None


def _statistic(result: FitResult, scale: float, objectives: np.ndarray) -> np.ndarray:
    return 2 * scale * np.maximum(objectives - result.objective, 0.0)


def _profile_objectives(result: FitResult, indices: list[int], values: list[np.ndarray]) -> list[np.ndarray]:
    """Per (parameter index, values): the objective with that parameter fixed at each value, the others
    re-optimised from the fit's optimum; every row of every parameter solved in one batch."""
    starts = np.repeat(result.theta[None], sum(len(row) for row in values), axis=0)
    fixed = np.zeros_like(starts, dtype=bool)
    offset = 0
    for index, row in zip(indices, values, strict=True):
        starts[offset:offset + len(row), index] = row
        fixed[offset:offset + len(row), index] = True
        offset += len(row)
    solution = newton_solve(result.problem(), starts, None, result.lower_bounds(), fixed=fixed, initial_damping=1e-6)
    objectives = np.where(np.isfinite(solution.objective), solution.objective, np.inf)
    return np.split(objectives, np.cumsum([len(row) for row in values])[:-1])


def _crossing(estimate: float, values: np.ndarray, statistic: np.ndarray, threshold: float) -> float | None:
    """Where S first reaches ``threshold`` along ``values`` (outward from ``estimate``), linearly interpolated."""
    crossed = np.flatnonzero(statistic >= threshold)
    if not len(crossed):
        return None
    first = crossed[0]
    inner_value, inner_statistic = (estimate, 0.0) if first == 0 else (values[first - 1], statistic[first - 1])
    share = (threshold - inner_statistic) / (statistic[first] - inner_statistic)
    return float(inner_value + share * (values[first] - inner_value))


def _profile_ends(result: FitResult, indices: list[int], widths: np.ndarray, scale: float,
                  threshold: float) -> dict[tuple[int, int], float]:
    """The interval's end on each side (±1) of each parameter, in optimiser coordinates: where S crosses
    ``threshold``; when S stays below it, the lower bound (−∞ without one) or +∞ after ``EXPANSIONS`` widenings
    of the search (×4 each)."""
    lower = result.lower_bounds()
    ends: dict[tuple[int, int], float] = {}
    width = {(index, side): widths[index] for index in indices for side in (-1, 1)}
    for _ in range(EXPANSIONS):
        pending = [key for key in width if key not in ends]
        if not pending:
            break
        values = [np.maximum(result.theta[index] + side * PROFILE_STEPS * width[index, side], lower[index])
                  for index, side in pending]
        objectives = _profile_objectives(result, [index for index, _ in pending], values)
        for (index, side), row, objective in zip(pending, values, objectives, strict=True):
            end = _crossing(result.theta[index], row, _statistic(result, scale, objective), threshold)
            if end is None and side < 0 and row[-1] <= lower[index]:
                end = float(lower[index])  # the bound itself lies inside the interval
            if end is not None:
                ends[index, side] = end
            width[index, side] *= 4
    return {key: ends.get(key, float(lower[key[0]]) if key[1] < 0 else np.inf) for key in width}


def _half_widths(result: FitResult, scale: float, threshold: float) -> np.ndarray:
    """Quadratic approximation of the interval's half-widths, the profile's first search range."""
    hessian, _, _ = result.problem().derivatives(result.theta[None], np.ones((1, result.problem().points)))
    covariance = np.linalg.pinv(hessian[0], rcond=1e-12, hermitian=True)
    widths = np.sqrt(np.abs(np.diag(covariance)) * threshold / scale)
    fallback = 0.1 * np.maximum(np.abs(result.theta), 1e-3)
    return np.where(np.isfinite(widths) & (widths > 0), widths, fallback)


def profile_intervals(result: FitResult, names: Sequence[str] | None = None,
                      level: float = 0.95) -> dict[str, Interval]:
    """Profile-likelihood intervals of the reported parameters ``names`` (default: all); see the module docs."""
    names = list(names or result.params)
    if not result.ok_fit:
        return {name: Interval.degenerate_because("the fit itself failed its checks", PROFILE, level)
                for name in names}
    scale = robust_scale(result.log_residuals(), result.delta, len(result.theta))
    if scale is None:
        reason = "too few points for the parameters: the statistic cannot be calibrated"
        return {name: Interval.degenerate_because(reason, PROFILE, level) for name in names}
    threshold = float(chi2.ppf(level, 1))
    indices = [result.law.reported_names().index(name) for name in names]
    ends = _profile_ends(result, indices, _half_widths(result, scale, threshold), scale, threshold)
    intervals = {}
    for name, index in zip(names, indices, strict=True):
        low, high = ends[index, -1], ends[index, 1]
        if result.law.params[index] in result.law.log_params:
            low, high = np.exp(low), np.exp(high)
        intervals[name] = Interval(float(low), float(high), PROFILE, level)
    return intervals


@dataclass(frozen=True)
class BoundTest:
    """Is the parameter's lower bound (for a coefficient: no effect at all) supported by the data?"""

    parameter: str
    bound: float
    statistic: float  # S = 2ξ·(f(at the bound) − f̂)
    p_value: float  # against ½χ²₀ + ½χ²₁
    level: float

    @property
    def bound_supported(self) -> bool:
        return self.p_value >= 1 - self.level

    def to_dict(self) -> dict[str, float | str | bool]:
        return {**self.__dict__, "bound_supported": self.bound_supported}


def bound_test(result: FitResult, name: str, level: float = 0.95) -> BoundTest:
    """Refit with ``name`` fixed at its lower bound; a small p-value says the data reject the bound."""
    index = result.law.reported_names().index(name)
    bound = result.lower_bounds()[index]
    if not np.isfinite(bound):
        raise ValueError(f"law {result.law.name!r}: {name} has no lower bound to test")
    if not result.ok_fit:
        raise ValueError("the fit failed, so no test on it means anything: " + "; ".join(result.fit_failures))
    scale = robust_scale(result.log_residuals(), result.delta, len(result.theta))
    if scale is None:
        raise ValueError("too few points for the parameters: the test cannot be calibrated")
    objective = _profile_objectives(result, [index], [np.array([bound])])[0]
    statistic = float(_statistic(result, scale, objective)[0])
    p_value = 1.0 if statistic <= 0 else float(0.5 * chi2.sf(statistic, 1))
    return BoundTest(name, float(bound), statistic, p_value, level)
