"""Confidence intervals of fitted parameters that cannot be mistaken for what they are not.

An ``Interval`` is either a confidence interval or *degenerate*: then ``low`` and ``high`` are NaN, ``reason`` says
why, ``str()`` prints "degenerate", and unpacking it gives (nan, nan). A percentile-bootstrap interval is
degenerate when it has zero width (every resample at one value, e.g. a coefficient at its bound) or when the
resamples never left their starts (the refits returned their starting point: a plateau, not a distribution).

Two kinds of interval (docs/SCALING.md measures the coverage of each on synthetic data with known parameters):
- **profile** (``FitResult.profile``, the calibrated one): the profile likelihood of the robust (Huber) objective.
  For parameter ψ, minimise the objective f over the others at each fixed ψ; the drop-in-dispersion statistic
  S(ψ) = 2ξ·(f(ψ) − f̂), with ξ the ratio of the mean Huber curvature to the mean squared Huber slope of the
  residuals (Schrader & Hettmansperger 1980), is asymptotically χ²₁, and the interval is {ψ : S(ψ) ≤ t}. For
  |r| ≤ δ everywhere it is the Gaussian likelihood-ratio interval with σ² estimated from the residuals. The
  threshold t (``calibration``):
  - ``"bootstrap"`` (default): the ``level`` quantile of S* on residual resamples of the fit (resampling.py),
    where the fit's own estimate ψ̂ is the truth, floored at χ²₁(level): the statistic's distribution in a world
    like this fit's, which the asymptotic χ²₁ understates for a curved, nearly unidentified law;
  - ``"F"``: F(1, n − p)(level), the small-sample form with the noise estimated from the residuals;
  - ``"chi2"``: χ²₁(level), the asymptotic threshold.
  The interval is found by walking each side outward with a continuation (``_profile_ends``) and is the hull of
  the set where S ≤ t; a side the data do not bound is ±∞ (0 or ∞ for log-scale parameters), not a number.
- **bootstrap** (``FitResult.bootstrap``): percentile intervals of refits on redrawn tables, by default the fit's
  residuals redrawn around it per run and per point (``"residual"``), or whole runs drawn with replacement
  (``"runs"``, Epoch's and OLMo's). Both follow the fit where the data identify the law; where they do not, the
  refits stay near the optimum they start from and the percentile interval is far too narrow.

``bound_test`` asks whether a parameter's lower bound (a zero coefficient) is supported: S at the bound against
the ½χ²₀ + ½χ²₁ mixture of a boundary null (Self & Liang 1987).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import chi2, norm
from scipy.stats import f as f_distribution

from ziya2lab.scaling.newton import newton_solve
from ziya2lab.scaling.resampling import RESIDUAL, RUNS

if TYPE_CHECKING:
    from ziya2lab.scaling.fitting import FitResult

PERCENTILE = "percentile bootstrap over runs"
RESIDUAL_PERCENTILE = "percentile residual bootstrap over runs"
BOOTSTRAP_METHODS = {RUNS: PERCENTILE, RESIDUAL: RESIDUAL_PERCENTILE}
PROFILE = "profile likelihood (robust LR)"
CHI2, F_TEST, BOOTSTRAP = "chi2", "F", "bootstrap"
CALIBRATIONS = (BOOTSTRAP, F_TEST, CHI2)
PROFILE_METHODS = {CHI2: PROFILE, F_TEST: "profile likelihood (robust LR, F threshold)",
                   BOOTSTRAP: "profile likelihood (robust LR, residual-bootstrap threshold)"}
CALIBRATION_RESAMPLES = 100  # residual resamples that calibrate the profile's threshold
MIN_FINITE = 20  # finite bootstrap statistics needed for a threshold
STUCK_SHARE = 0.5  # more than this share of resamples that never left their start: the bootstrap is degenerate
# multiples of the quadratic half-width at which each side of a profile is evaluated, outward; beyond the last, a
# side the statistic has not closed is unbounded
PROFILE_STEPS = np.array([0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256])
CLOSED_AFTER = 4  # steps at or above the threshold after which a side of the profile is taken as closed
BISECTIONS = 6  # halvings of the step in which a profile crosses its threshold


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
                         degenerate: str = "", method: str = PERCENTILE) -> dict[str, Interval]:
    """Percentile intervals of bootstrap ``samples`` (reported parameters), degenerate where they carry no spread.

    ``bounds`` are the reported lower bounds; ``degenerate`` says why the whole bootstrap is (then every interval
    is); ``method`` names the bootstrap.
    """
    tail = (1 - level) / 2 * 100
    if degenerate:
        return {name: Interval.degenerate_because(degenerate, method, level) for name in samples}
    intervals = {}
    for name, values in samples.items():
        finite = values[np.isfinite(values)]
        if len(finite) < len(values):
            intervals[name] = Interval.degenerate_because(f"{len(values) - len(finite)} resamples are not finite",
                                                          method, level)
            continue
        low, high = np.percentile(finite, [tail, 100 - tail])
        if high - low <= 1e-9 * max(abs(low), abs(high)):
            where = f"at its bound {bounds[name]:g}" if name in bounds and abs(low - bounds[name]) < 1e-12 else \
                f"at {low:.6g}"
            intervals[name] = Interval.degenerate_because(
                f"zero width: every resample {where}; ask FitResult.profile() or bound_test() instead",
                method, level)
        else:
            intervals[name] = Interval(float(low), float(high), method, level)
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


def profile_statistic(result: FitResult, scale: float, objectives: np.ndarray) -> np.ndarray:
    """S = 2ξ·(f(ψ) − f̂) for constrained optima ``objectives`` (``scale`` = ξ, ``robust_scale``)."""
    return 2 * scale * np.maximum(objectives - result.objective, 0.0)


def fixed_solves(result: FitResult, indices: np.ndarray, values: np.ndarray,
                 starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(objectives, optima): for each k, the objective minimised over every parameter but ``indices[k]``, fixed at
    ``values[k]``; each row solved from ``starts[k]`` (the previous point of its profile path) and from the fit's
    optimum, the lower of the two kept. All rows in one batch."""
    count = len(indices)
    rows = np.vstack([starts, np.tile(result.theta, (count, 1))])
    fixed = np.zeros_like(rows, dtype=bool)
    positions, columns = np.arange(2 * count), np.concatenate([indices, indices])
    rows[positions, columns] = np.concatenate([values, values])
    fixed[positions, columns] = True
    solution = newton_solve(result.problem(), rows, None, result.lower_bounds(), fixed=fixed, initial_damping=1e-6)
    objectives = np.where(np.isfinite(solution.objective), solution.objective, np.inf).reshape(2, count)
    chosen = objectives.argmin(axis=0) * count + np.arange(count)
    return objectives.min(axis=0), solution.theta[chosen]


@dataclass
class _Bracket:
    """A stretch of one side of a profile where S crosses the threshold: inside at ``inner``, not at ``outer``."""

    inner: float
    inner_statistic: float
    inner_optimum: np.ndarray
    outer: float
    outer_statistic: float

    def end(self, threshold: float) -> float:
        share = (threshold - self.inner_statistic) / (self.outer_statistic - self.inner_statistic)
        return float(self.inner + share * (self.outer - self.inner))


def _walk(result: FitResult, keys: list[tuple[int, int]], widths: np.ndarray, scale: float,
          thresholds: dict[int, float]) -> tuple[dict[tuple[int, int], _Bracket], set[tuple[int, int]]]:
    """Walk each side (index, ±1) outward at ``PROFILE_STEPS`` half-widths: (the outermost crossing of each side
    that has one, the sides whose statistic stays below the threshold down to their bound)."""
    lower = result.lower_bounds()
    previous = {key: result.theta.copy() for key in keys}
    inside = {key: (float(result.theta[key[0]]), 0.0, result.theta.copy()) for key in keys}  # outermost inside
    brackets: dict[tuple[int, int], _Bracket] = {}
    above = dict.fromkeys(keys, 0)  # consecutive steps at or above the threshold
    at_bound: set[tuple[int, int]] = set()
    for step in PROFILE_STEPS:
        pending = [key for key in keys if above[key] < CLOSED_AFTER and key not in at_bound]
        if not pending:
            break
        columns = np.array([index for index, _ in pending])
        values = np.maximum(result.theta[columns] + np.array([side for _, side in pending]) * step * widths[columns],
                            lower[columns])
        objectives, optima = fixed_solves(result, columns, values, np.array([previous[key] for key in pending]))
        for key, value, statistic, optimum in zip(pending, values, profile_statistic(result, scale, objectives), optima,
                                                  strict=True):
            previous[key] = optimum
            if statistic >= thresholds[key[0]]:
                if above[key] == 0:  # S crosses upward here, after the outermost point inside so far
                    brackets[key] = _Bracket(*inside[key], float(value), float(statistic))
                above[key] += 1
                continue
            above[key] = 0
            inside[key] = (float(value), float(statistic), optimum)
            brackets.pop(key, None)
            if value <= lower[key[0]]:
                at_bound.add(key)  # the bound itself lies inside the interval
    return brackets, at_bound


def _profile_ends(result: FitResult, indices: list[int], widths: np.ndarray, scale: float,
                  thresholds: dict[int, float]) -> dict[tuple[int, int], float]:
    """The interval's end on each side (±1) of each parameter, in optimiser coordinates.

    Each side is walked outward from the estimate at ``PROFILE_STEPS`` multiples of the parameter's quadratic
    half-width, every point re-optimised from the previous one (a continuation, which follows a curved valley)
    and from the fit's optimum (which finds a second valley the path does not reach), all sides' points in one
    batch per step. A profile can have two valleys with a ridge between them, so the walk goes on until S has
    stayed at or above the parameter's threshold for ``CLOSED_AFTER`` steps, and the end is the *outermost*
    crossing: the interval is the hull of the confidence set, not the piece around the estimate. The crossing is
    then located by ``BISECTIONS`` halvings of its step (S is far from linear over a step: flat, then steep near
    a bound) and interpolated linearly within the last. A side where S stays below the threshold down to the bound
    ends at the bound (−∞ without one); one where it stays below it over the whole walk is unbounded (+∞).
    """
    lower = result.lower_bounds()
    keys = [(index, side) for index in indices for side in (-1, 1)]
    brackets, at_bound = _walk(result, keys, widths, scale, thresholds)
    pending = list(brackets)
    for _ in range(BISECTIONS if pending else 0):
        columns = np.array([index for index, _ in pending])
        middles = np.array([(brackets[key].inner + brackets[key].outer) / 2 for key in pending])
        objectives, optima = fixed_solves(result, columns, middles,
                                          np.array([brackets[key].inner_optimum for key in pending]))
        for key, middle, statistic, optimum in zip(pending, middles, profile_statistic(result, scale, objectives), optima,
                                                   strict=True):
            bracket = brackets[key]
            if statistic >= thresholds[key[0]]:
                bracket.outer, bracket.outer_statistic = float(middle), float(statistic)
            else:
                bracket.inner, bracket.inner_statistic, bracket.inner_optimum = float(middle), float(statistic), optimum
    ends = {key: bracket.end(thresholds[key[0]]) for key, bracket in brackets.items()}
    ends |= {key: float(lower[key[0]]) for key in at_bound}
    return {key: ends.get(key, np.inf if key[1] > 0 else float(lower[key[0]])) for key in keys}


def _walk_to(result: FitResult, index: int, value: float, steps: int = 6) -> float:
    """The objective with parameter ``index`` fixed at ``value``, reached by a continuation from the optimum."""
    optimum, objective = result.theta.copy(), result.objective
    for point in np.linspace(result.theta[index], value, steps + 1)[1:]:
        objectives, optima = fixed_solves(result, np.array([index]), np.array([point]), optimum[None])
        objective, optimum = float(objectives[0]), optima[0]
    return objective


def _half_widths(result: FitResult, scale: float, thresholds: np.ndarray) -> np.ndarray:
    """Quadratic approximation of the interval's half-widths, the profile's first search range."""
    hessian, _, _ = result.problem().derivatives(result.theta[None], np.ones((1, result.problem().points)))
    covariance = np.linalg.pinv(hessian[0], rcond=1e-12, hermitian=True)
    with np.errstate(over="ignore", invalid="ignore"):
        widths = np.sqrt(np.abs(np.diag(covariance)) * thresholds / scale)
    fallback = 0.1 * np.maximum(np.abs(result.theta), 1e-3)
    return np.where(np.isfinite(widths) & (widths > 0), widths, fallback)


def bootstrap_statistics(result: FitResult, indices: list[int], resamples: int, seed: int) -> dict[int, np.ndarray]:
    """Per parameter index, S* = 2ξ*·(f*(ψ̂) − f̂*) on ``resamples`` residual resamples (resampling.py), where the
    fit's own estimate ψ̂ is the truth: the distribution the profile's statistic has in a world like this fit's.

    Each resample is refitted free and with the parameter fixed at ψ̂, both from the fit's optimum; ξ* is each
    free refit's own robust scale, as ξ̂ is the fit's.
    """
    targets = result.residual_resamples(resamples, seed)
    lower = result.lower_bounds()
    starts = np.tile(result.theta, (resamples * (1 + len(indices)), 1))
    fixed = np.zeros_like(starts, dtype=bool)
    for block, index in enumerate(indices, start=1):
        fixed[block * resamples:(block + 1) * resamples, index] = True
    solution = newton_solve(result.problem(), starts, None, lower, fixed=fixed, initial_damping=1e-6,
                            targets=np.tile(targets, (1 + len(indices), 1)))
    objectives = np.where(np.isfinite(solution.objective), solution.objective, np.inf).reshape(-1, resamples)
    free = objectives.min(axis=0)  # a constrained refit is a feasible free one: a lower optimum counts
    residuals = targets - result.log_predictions(solution.theta[:resamples])
    scales = np.array([robust_scale(row, result.delta, len(result.theta)) or np.nan for row in residuals])
    return {index: 2 * scales * np.maximum(objectives[block] - free, 0.0)
            for block, index in enumerate(indices, start=1)}


def profile_thresholds(result: FitResult, indices: list[int], level: float, calibration: str, resamples: int,
                       seed: int) -> dict[int, float]:
    """Per parameter index, the value of S at which the ``level`` profile interval ends (module docstring)."""
    asymptotic = float(chi2.ppf(level, 1))
    if calibration == CHI2:
        return dict.fromkeys(indices, asymptotic)
    if calibration == F_TEST:
        return dict.fromkeys(indices, float(f_distribution.ppf(level, 1, len(result.table) - len(result.theta))))
    statistics = bootstrap_statistics(result, indices, resamples, seed)
    return {index: max(asymptotic, float(np.nanquantile(values, level))) if np.isfinite(values).sum() >= MIN_FINITE
            else np.inf for index, values in statistics.items()}


def profile_intervals(result: FitResult, names: Sequence[str] | None = None, level: float = 0.95,
                      calibration: str = BOOTSTRAP, resamples: int = CALIBRATION_RESAMPLES,
                      seed: int = 0) -> dict[str, Interval]:
    """Profile-likelihood intervals of the reported parameters ``names`` (default: all); see the module docs."""
    names = list(names or result.params)
    if calibration not in PROFILE_METHODS:
        raise ValueError(f"unknown profile calibration {calibration!r}; known: {', '.join(CALIBRATIONS)}")
    method = PROFILE_METHODS[calibration]
    if not result.profile_usable:
        return {name: Interval.degenerate_because("the fit itself failed its checks", method, level)
                for name in names}
    scale = robust_scale(result.log_residuals(), result.delta, len(result.theta))
    if scale is None:
        reason = "too few points for the parameters: the statistic cannot be calibrated"
        return {name: Interval.degenerate_because(reason, method, level) for name in names}
    indices = [result.law.reported_names().index(name) for name in names]
    thresholds = profile_thresholds(result, indices, level, calibration, resamples, seed)
    widths = _half_widths(result, scale, np.array([thresholds.get(index, chi2.ppf(level, 1))
                                                   for index in range(len(result.theta))]))
    ends = _profile_ends(result, indices, widths, scale, thresholds)
    intervals = {}
    for name, index in zip(names, indices, strict=True):
        low, high = ends[index, -1], ends[index, 1]
        if result.law.params[index] in result.law.log_params:
            low, high = np.exp(low), np.exp(high)
        intervals[name] = Interval(float(low), float(high), method, level)
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
    statistic = float(profile_statistic(result, scale, np.array([_walk_to(result, index, bound)]))[0])
    p_value = 1.0 if statistic <= 0 else float(0.5 * chi2.sf(statistic, 1))
    return BoundTest(name, float(bound), statistic, p_value, level)
