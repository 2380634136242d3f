"""Fit a law to a table of runs: sum-reduced Huber loss in log space, a grid of starts, bootstrap over runs.

As Epoch found, the Huber loss must be *summed* over points: the mean divides the gradient by n and L-BFGS stops
before it converges. The procedure:
1. every start of the grid (by default derived from the data, starts.py) is scored in one vectorised pass (the
   objective at the start, no optimisation);
2. the ``refine`` best-scored starts (all of them with ``refine=None``) are optimised *together* by the batched
   damped Newton solver (newton.py), which reports each start's convergence, objective and gradient norm;
3. the best few distinct optima are polished by scipy's L-BFGS-B, the reference optimiser, and the best is kept.
On the Chinchilla data, screening to the 64 best of Hoffmann's 4,500 starts finds the same optimum as optimising
all of them (tests/scaling/test_fitting.py and benchmarks/bench_fit.py check it). Every fit is then checked
(checks.py): a failed one carries its reasons in ``FitResult.failures`` and ``ok`` is False. The bootstrap refits
every resample at once the same way (resampling.py: by default the fit's residuals redrawn around the fitted law,
the design kept; or whole runs drawn with replacement); its intervals, and the profile-likelihood ones, are
``Interval`` objects that say when they are degenerate (intervals.py).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize

from ziya2lab.common.attributes import COLUMNS, RUN_COLUMN
from ziya2lab.scaling import intervals as interval_methods
from ziya2lab.scaling.checks import MOVED, RAN_OFF, check_fit, distance_from_starts, negligible
from ziya2lab.scaling.intervals import BoundTest, Interval
from ziya2lab.scaling.laws import Law, get_law
from ziya2lab.scaling.newton import (
    PROCESSES,
    BatchedSolution,
    Problem,
    huber,
    log_prediction_jacobian,
    make_problem,
    newton_solve,
    single_threaded,
)
from ziya2lab.scaling.resampling import RESAMPLINGS, RESIDUAL, RUNS, residual_targets, run_groups, run_weights

log = logging.getLogger(__name__)
HUBER_DELTA = 1e-3
# The resampling unit's name before the shared vocabulary (common/attributes.py): tables users wrote by hand, and
# the docs until issue 12, said "run"; such a table is still accepted, its column renamed with a warning.
OLD_RUN_COLUMN = "run"
SCORE_CHUNK = 4096
FEW_CORPORA = 3  # an attribute tied one value per corpus, over this few corpora, is confounded with the corpus


def prepare(table: pd.DataFrame, law: Law) -> pd.DataFrame:
    """The law's columns plus ``loss``, checked: a clear error naming the rows that cannot be fitted."""
    table = table.copy()
    if OLD_RUN_COLUMN in table and RUN_COLUMN not in table:
        log.warning("column %r is the old name of the run column %r: renamed", OLD_RUN_COLUMN, RUN_COLUMN)
        table = table.rename(columns={OLD_RUN_COLUMN: RUN_COLUMN})
    if "D" in law.columns and "D" not in table and "V" in table:
        table["D"] = table["V"]
    if "V" in law.columns and "V" not in table and "D" in table:
        table["V"] = table["D"]
    missing = [column for column in (*law.columns, "loss") if column not in table]
    if missing:
        raise KeyError(f"law {law.name!r} needs columns {missing}; the table has {list(table.columns)}")
    if table.empty:
        raise ValueError(f"law {law.name!r}: the table is empty")
    values = table[[*law.columns, "loss"]].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float)).all(axis=1) | (values["loss"] <= 0).to_numpy()
    for column in law.scale_columns:
        bad |= (values[column] < 0 if column in law.zero_allowed else values[column] <= 0).to_numpy()
    if bad.any():
        rows = table.index[bad].tolist()
        needs = ", ".join(f"{column} {'≥' if column in law.zero_allowed else '>'} 0" for column in law.scale_columns)
        raise ValueError(f"law {law.name!r}: rows {rows[:20]}{' …' if len(rows) > 20 else ''} have a non-finite "
                         f"value or break loss > 0, {needs}")
    return table


def _tensors(table: pd.DataFrame, law: Law) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    data = {column: torch.tensor(table[column].to_numpy(dtype=np.float64)) for column in law.columns}
    return data, torch.tensor(np.log(table["loss"].to_numpy(dtype=np.float64)))


def _objective(law: Law, theta: torch.Tensor, data: dict[str, torch.Tensor], log_loss: torch.Tensor,
               delta: float, weights: torch.Tensor | None = None) -> torch.Tensor:
    losses = huber(law.log_predict(theta, data) - log_loss, delta)
    return (losses if weights is None else weights * losses).sum()


def batched_log_predictions(law: Law, thetas: np.ndarray, data: dict[str, torch.Tensor]) -> np.ndarray:
    """(len(thetas), points): log L̂ at ``data``'s points under each parameter vector (optimiser coordinates), in
    one pass: θ as (params, K, 1) broadcasts against columns as (1, points)."""
    with torch.no_grad():
        batched = {name: column[None, :] for name, column in data.items()}
        return law.log_predict(torch.tensor(np.asarray(thetas).T[:, :, None]), batched).numpy()


def score_starts(law: Law, starts: np.ndarray, data: dict[str, torch.Tensor], log_loss: torch.Tensor,
                 delta: float) -> np.ndarray:
    """The objective at every start, vectorised over starts (no optimisation)."""
    scores = []
    with torch.no_grad():
        for chunk in np.array_split(starts, max(1, len(starts) // SCORE_CHUNK)):
            residuals = torch.from_numpy(batched_log_predictions(law, chunk, data)) - log_loss[None, :]
            scores.append(huber(residuals, delta).sum(dim=-1).numpy())
    result = np.concatenate(scores)
    return np.where(np.isfinite(result), result, np.inf)


@dataclass
class StartResult:
    start: list[float]
    theta: list[float]
    objective: float
    converged: bool
    gradient_norm: float
    message: str


def lower_bounds(law: Law) -> np.ndarray:
    return np.array([-np.inf if lower is None else lower for lower, _ in law.bounds()])


def _minimise(problem: Problem, law: Law, start: np.ndarray, weights: np.ndarray | None = None,
              targets: np.ndarray | None = None) -> StartResult:
    """scipy's L-BFGS-B from one start: the reference optimiser, used to polish the batched solver's best.

    Values and gradients come from the same problem as the batched solver's (closed-form where the law has them;
    tests/scaling/test_newton.py checks them against autograd); ``targets`` replace the table's log losses.
    """
    weight = np.ones((1, problem.points)) if weights is None else np.asarray(weights, dtype=np.float64)[None]
    target = None if targets is None else np.asarray(targets, dtype=np.float64)[None]

    def value_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            _, gradient, value = problem.derivatives(vector[None], weight, target)
        return float(value[0]), gradient[0]

    result = minimize(value_and_gradient, start, jac=True, method="L-BFGS-B", bounds=law.bounds(),
                      options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10})
    gradient_norm = float(np.linalg.norm(value_and_gradient(result.x)[1]))
    return StartResult(np.asarray(start).tolist(), result.x.tolist(), float(result.fun), bool(result.success),
                       gradient_norm, f"L-BFGS-B polish: {result.message}")


def _newton_results(starts: np.ndarray, solution: BatchedSolution) -> list[StartResult]:
    return [StartResult(start.tolist(), theta.tolist(), float(objective), bool(converged), float(norm),
                        f"batched Newton: {'converged' if converged else 'iteration limit'} after {steps} steps")
            for start, theta, objective, converged, norm, steps in zip(
                starts, solution.theta, solution.objective, solution.converged, solution.gradient_norm,
                solution.iterations, strict=True)]


def _distinct_best(solution: BatchedSolution, count: int) -> list[np.ndarray]:
    """The ``count`` best finite optima that differ from each other (many starts reach the same one)."""
    chosen: list[np.ndarray] = []
    for index in np.argsort(np.where(np.isfinite(solution.objective), solution.objective, np.inf)):
        theta = solution.theta[index]
        if not np.isfinite(solution.objective[index]) or len(chosen) == count:
            break
        if all(np.abs(theta - other).max() > 1e-6 * (1 + np.abs(other).max()) for other in chosen):
            chosen.append(theta)
    return chosen


def _origin(best: StartResult, results: list[StartResult]) -> np.ndarray:
    """The grid start ``best`` descends from (a polished optimum starts where a batched run ended, a restart where a
    polish ended)."""
    current, seen = best, {id(best)}
    while (parent := next((result for result in results if result.theta == current.start
                           and id(result) not in seen), None)) is not None:
        current = parent
        seen.add(id(current))
    return np.array(current.start)


def _restart(problem: Problem, law: Law, best: StartResult) -> StartResult:
    """The batched Newton solver once more from the best optimum, with fresh damping.

    In a long, nearly flat valley the solver's damping grows until its steps stall and the row stops as creeping;
    L-BFGS-B then stops on its own tolerances. Restarted with small damping, Newton walks on to the stationary
    point (development cases: the points' net pull went from 1e-3 to 1e-5 of their total, the objective down by
    up to 0.5%). Kept only where it lowers the objective.
    """
    start = np.array(best.theta)[None]
    solution = newton_solve(problem, start, None, lower_bounds(law), initial_damping=1e-6,
                            max_iterations=RESTART_ITERATIONS)
    restarted = _newton_results(start, solution)[0]
    if not restarted.objective < best.objective:
        return best
    restarted.converged = restarted.converged or best.converged
    restarted.message = f"batched Newton restarted from the best optimum: {restarted.message}"
    return restarted


def _best(results: list[StartResult]) -> StartResult:
    finite = [result for result in results if np.isfinite(result.objective)]
    converged = [result for result in finite if result.converged] or finite
    if not converged:
        raise RuntimeError("no start reached a finite objective")
    return min(converged, key=lambda result: result.objective)


@dataclass
class FitResult:
    """A fitted law, the checks it passed or failed, and its intervals (``profile``: the calibrated ones;
    ``bootstrap``).

    ``ok`` is False, and ``failures`` says why, when the fit failed a check (checks.py: ``fit_failures``) or a
    bootstrap interval is degenerate. Everything computed from the fit (``compute_optimal``, the effective-data
    multipliers, the Fig. 7 view, the CLI's and the study's reports) carries that verdict beside its numbers. A
    failed fit has degenerate intervals, except the profile of a fit that failed only because a parameter ran off
    (``profile_usable``): its profile shows what the data do bound.
    """

    law: Law
    table: pd.DataFrame
    theta: np.ndarray
    objective: float
    converged: bool
    starts: list[StartResult]
    delta: float
    ranked_starts: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # grid starts, best score first
    warnings: list[str] = field(default_factory=list)
    fit_failures: list[str] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    bootstrap_samples: pd.DataFrame | None = None  # the refits' reported parameters, one row per resample
    bootstrap_theta: np.ndarray | None = field(default=None, repr=False)  # the same in optimiser coordinates
    bootstrap_converged: np.ndarray | None = None
    bootstrap_intervals: dict[str, Interval] = field(default_factory=dict)
    bootstrap_degenerate: str = ""  # why the whole bootstrap carries no uncertainty ("" if it may)
    bootstrap_method: str = ""  # the Interval method of the last bootstrap
    cached_problem: Problem | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, float]:
        return self.law.report(self.theta)

    @property
    def ok_fit(self) -> bool:
        """The point fit passed every check (its intervals aside)."""
        return not self.fit_failures

    @property
    def profile_usable(self) -> bool:
        """The fit failed no check but, at most, the runaway one: its optimum describes the data and a parameter
        the data do not hold has a profile interval that shows it (an unbounded side), though no point value."""
        return all(failure.startswith(RAN_OFF) for failure in self.fit_failures)

    @property
    def bootstrap_usable(self) -> bool:
        """A bootstrap ran on a fit that passed its checks and its refits carry spread (single intervals may still
        be degenerate, e.g. a coefficient at its bound in every resample)."""
        return self.bootstrap_samples is not None and self.ok_fit and not self.bootstrap_degenerate

    @property
    def failures(self) -> list[str]:
        """Why this fit, or its bootstrap, must not be trusted; empty when it may."""
        degenerate: dict[str, list[str]] = {}
        for name, interval in self.bootstrap_intervals.items():
            if interval.degenerate:
                degenerate.setdefault(interval.reason, []).append(name)
        return self.fit_failures + [f"bootstrap interval of {', '.join(names)} is degenerate, not a CI: {reason}"
                                    for reason, names in degenerate.items()]

    @property
    def ok(self) -> bool:
        return not self.failures

    def warn_if_failed(self, use: str) -> None:
        for failure in self.failures:
            log.warning("%s from a failed %s fit: %s", use, self.law.name, failure)

    def tensors(self) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return _tensors(self.table, self.law)

    def lower_bounds(self) -> np.ndarray:
        return lower_bounds(self.law)

    def problem(self) -> Problem:
        if self.cached_problem is None:
            self.cached_problem = make_problem(self.law, *self.tensors(), self.delta)
        return self.cached_problem

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        """Predicted losses at ``table``'s points under the fitted parameters."""
        return torch.from_numpy(self.log_predictions(self.theta[None], table)[0]).exp().numpy()

    def log_predictions(self, thetas: np.ndarray, table: pd.DataFrame | None = None) -> np.ndarray:
        """(len(thetas), rows): log L̂ at ``table``'s points (default: the fitted table's) under each parameter
        vector, in one pass."""
        if table is None:
            data, _ = self.tensors()
        else:
            data, _ = _tensors(prepare(table.assign(loss=1.0) if "loss" not in table else table, self.law), self.law)
        return batched_log_predictions(self.law, thetas, data)

    def log_residuals(self) -> np.ndarray:
        """log L − log L̂ at the fitted rows."""
        return np.log(self.table["loss"].to_numpy()) - np.log(self.predict(self.table))

    def plot(self, path: str | Path, title: str | None = None) -> Path:
        from ziya2lab.scaling.plots import plot_fit

        return plot_fit(self, path, title)

    def spread(self, tolerance: float = 1e-6) -> pd.DataFrame:
        """Parameters of every refined start within ``tolerance`` (relative) of the best objective."""
        close = [s for s in self.starts if np.isfinite(s.objective)
                 and s.objective <= self.objective * (1 + tolerance) + 1e-12]
        return pd.DataFrame([self.law.report(np.array(s.theta)) for s in close]).describe()

    @single_threaded()
    def bootstrap(self, n: int = 200, seed: int = 0, unit: str | None = None, level: float = 0.95,
                  refine: int = 2, resampling: str = RESIDUAL) -> dict[str, Interval]:
        """Percentile intervals from ``n`` refits on redrawn tables (resampling.py).

        ``resampling="residual"`` (the default): the fit's leverage-adjusted residuals redrawn around the fitted
        law, per run and per point, the design kept as it was run; ``"runs"``: whole runs (the table's run column,
        or ``unit``; else rows) drawn with replacement, as a table with integer weights. Either way all ``n``
        refits are solved together by the batched Newton solver, each from the full fit's optimum and from the
        ``refine`` grid starts that scored best on the full data, so a resample whose optimum moved away is still
        found; a refit the solver leaves unconverged is finished by L-BFGS-B. The samples are kept in
        ``bootstrap_samples``, the intervals in ``bootstrap_intervals``; a degenerate one (intervals.py) is
        returned as such and listed in ``failures``. docs/SCALING.md measures both resamplings' coverage.
        """
        if resampling not in RESAMPLINGS:
            raise ValueError(f"unknown resampling {resampling!r}; known: {', '.join(RESAMPLINGS)}")
        targets = self.residual_resamples(n, seed, unit) if resampling == RESIDUAL else None
        weights = run_weights(self.table, n, seed, unit) if resampling == RUNS else np.ones((n, len(self.table)))
        starts = np.vstack([self.theta, *self.ranked_starts[:refine]])
        solution = newton_solve(self.problem(), np.tile(starts, (n, 1)), np.repeat(weights, len(starts), axis=0),
                                self.lower_bounds(), initial_damping=1e-6, processes=self._processes(n),
                                targets=None if targets is None else np.repeat(targets, len(starts), axis=0))
        objective = np.where(np.isfinite(solution.objective), solution.objective, np.inf).reshape(n, len(starts))
        chosen = objective.argmin(axis=1)
        best = np.arange(n) * len(starts) + chosen
        thetas, converged = solution.theta[best], solution.converged[best]
        for index in np.flatnonzero(~converged):
            polished = _minimise(self.problem(), self.law, thetas[index], weights[index],
                                 None if targets is None else targets[index])
            thetas[index], converged[index] = polished.theta, polished.converged
        stuck = np.array([distance_from_starts(theta, starts[[start]], self.lower_bounds()) < MOVED
                          for theta, start in zip(thetas, chosen, strict=True)])
        self.bootstrap_converged = converged
        self.bootstrap_theta = thetas
        self.bootstrap_samples = pd.DataFrame([self.law.report(theta) for theta in thetas])
        self.bootstrap_method = interval_methods.BOOTSTRAP_METHODS[resampling]
        self.bootstrap_degenerate = interval_methods.bootstrap_degeneracy(stuck, not self.ok_fit)
        self.bootstrap_intervals = interval_methods.percentile_intervals(
            {name: column.to_numpy() for name, column in self.bootstrap_samples.items()}, level,
            self.law.reported_lower_bounds(), self.bootstrap_degenerate, self.bootstrap_method)
        for failure in self.failures:
            log.warning("fit %s: %s", self.law.name, failure)
        return self.bootstrap_intervals

    def residual_resamples(self, n: int, seed: int, unit: str | None = None) -> np.ndarray:
        """(n, rows) log losses redrawn around the fitted law from its own residuals (resampling.py); the
        leverage is that of the parameters that are free at the optimum (off their bounds, moving predictions)."""
        data = {column: self.table[column].to_numpy(dtype=np.float64) for column in self.law.columns}
        fitted, jacobian = log_prediction_jacobian(self.law, self.theta, data)
        free = (self.theta > self.lower_bounds() + 1e-12) & ~negligible(self, jacobian)
        residuals = np.log(self.table["loss"].to_numpy(dtype=np.float64)) - fitted
        return residual_targets(fitted, residuals, jacobian[:, free], run_groups(self.table, unit), n, seed)

    @single_threaded()
    def profile(self, names: Sequence[str] | None = None, level: float = 0.95,
                calibration: str = interval_methods.BOOTSTRAP, resamples: int = interval_methods.CALIBRATION_RESAMPLES,
                seed: int = 0) -> dict[str, Interval]:
        """Profile-likelihood intervals (intervals.py), their threshold calibrated by ``calibration``: "bootstrap"
        (default; from ``resamples`` residual resamples), "F" or "chi2" (asymptotic)."""
        return interval_methods.profile_intervals(self, names, level, calibration, resamples, seed)

    @single_threaded()
    def bound_test(self, name: str, level: float = 0.95) -> BoundTest:
        """Is ``name`` at its lower bound (a zero coefficient: no effect) supported by the data? (intervals.py)"""
        return interval_methods.bound_test(self, name, level)

    def compute_optimal(self, compute: float, **options: Any) -> dict[str, Any]:
        """The law's compute-optimal allocation at ``compute`` under this fit, with the fit's verdict beside it."""
        if not hasattr(self.law, "compute_optimal"):
            raise ValueError(f"law {self.law.name!r} has no compute-optimal allocation")
        self.warn_if_failed("compute_optimal")
        return {"compute": compute, **self.law.compute_optimal(self.params, compute, **options),
                "fit_ok": self.ok, "failures": self.failures}

    def _processes(self, problems: int) -> int:
        """Fork workers only for closed-form problems (torch in forked children can hang) worth the start-up."""
        return PROCESSES if problems >= 256 and self.problem().closed_form else 1

    @single_threaded()
    def loss_bands(self, table: pd.DataFrame, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                          np.ndarray]:
        """(confidence low, high, prediction low, high) of the loss at ``table``'s points.

        The confidence band is the spread of the bootstrap fits' predictions (uncertainty of the mean curve);
        the prediction band adds the fit's log-residual quantiles (where a new run's loss would fall), as OLMo's
        ladder reports both. A degenerate bootstrap gives no band.
        """
        if self.bootstrap_samples is None:
            raise RuntimeError("call .bootstrap() first")
        if not self.bootstrap_usable:
            raise ValueError("no loss bands from a failed fit or a degenerate bootstrap: " + "; ".join(self.failures))
        log_predictions = self.log_predictions(self.bootstrap_thetas(), table)
        tail = (1 - level) / 2 * 100
        low, high = np.percentile(log_predictions, [tail, 100 - tail], axis=0)
        r_low, r_high = np.percentile(self.log_residuals(), [tail, 100 - tail])
        return np.exp(low), np.exp(high), np.exp(low + r_low), np.exp(high + r_high)

    def bootstrap_thetas(self) -> np.ndarray:
        """The bootstrap refits in optimiser coordinates, (resamples, params)."""
        if self.bootstrap_theta is None:
            raise RuntimeError("call .bootstrap() first")
        return self.bootstrap_theta

    def start_summary(self) -> dict[str, Any]:
        """How the optimised starts ended: convergence, objectives, gradient norms, how many reached the best."""
        objectives = np.array([start.objective for start in self.starts])
        norms = np.array([start.gradient_norm for start in self.starts])
        finite = np.isfinite(objectives)
        return {
            "optimised": len(self.starts),
            "converged": int(sum(start.converged for start in self.starts)),
            "at_best": int((objectives <= self.objective * (1 + 1e-6) + 1e-15).sum()),
            "objective_quantiles": dict(zip(("min", "q25", "median", "q75", "max"),
                                            np.quantile(objectives[finite], [0, 0.25, 0.5, 0.75, 1]).tolist(),
                                            strict=True)) if finite.any() else {},
            "gradient_norm_at_best": float(norms[np.argmin(np.where(finite, objectives, np.inf))]),
        }

    def to_dict(self) -> dict[str, Any]:
        spread = self.spread()
        return {
            "law": self.law.name,
            "ok": self.ok,
            "failures": self.failures,
            "params": self.params,
            "objective": self.objective,
            "converged": self.converged,
            "points": len(self.table),
            "huber_delta": self.delta,
            "warnings": self.warnings,
            "diagnostics": self.diagnostics,
            "start_summary": self.start_summary(),
            "starts": [start.__dict__ for start in self.starts],
            "best_fit_spread": spread.to_dict() if not spread.empty else {},
            "bootstrap_intervals": {name: interval.to_dict() for name, interval in self.bootstrap_intervals.items()},
            "bootstrap_method": self.bootstrap_method,
            "bootstrap_degenerate": self.bootstrap_degenerate,
            "bootstrap": None if self.bootstrap_samples is None else self.bootstrap_samples.to_dict(orient="list"),
        }


def identifiability_warnings(law: Law, table: pd.DataFrame, theta: np.ndarray) -> list[str]:
    messages = []
    for column in ("N", "V", "D"):
        if column in law.columns and table[column].nunique() < 3:
            messages.append(f"only {table[column].nunique()} distinct {column} values: its exponent is poorly "
                            f"determined")
    for column in COLUMNS:
        if column in law.columns and table[column].nunique() < 2:
            messages.append(f"{column} is constant across the data: its coefficient is not identifiable")
    varying = [column for column in COLUMNS if column in law.columns and table[column].nunique() > 1]
    for first, second in itertools.combinations(varying, 2):
        if abs(np.corrcoef(table[first], table[second])[0, 1]) > 0.95:
            messages.append(f"{first} and {second} are confounded (|correlation| > 0.95): their coefficients "
                            f"trade off")
    corpora = table["corpus"].nunique() if "corpus" in table else 0
    if 1 < corpora <= FEW_CORPORA:
        for column in varying:
            if (table.groupby("corpus")[column].nunique() == 1).all():
                messages.append(f"{column} is constant within each of only {corpora} corpora: its coefficient is "
                                f"confounded with everything else that differs between them (as in the paper)")
    for name, value, (lower, _) in zip(law.params, theta, law.bounds(), strict=True):
        if lower is not None and abs(value - lower) < 1e-8:
            messages.append(f"{name} is at its bound {lower}")
    for message in messages:
        log.warning("fit %s: %s", law.name, message)
    return messages


POLISHED = 4  # distinct best optima of the batched solver handed to L-BFGS-B
RESTART_ITERATIONS = 2000  # of the final Newton restart from the best optimum


@single_threaded()
def fit(table: pd.DataFrame, law: str = "chinchilla", grid: str | Mapping[str, Sequence[float]] | None = None,
        refine: int | None = 64, delta: float = HUBER_DELTA) -> FitResult:
    """Fit ``law`` to ``table`` (columns N, D or V, loss, and CH, RA, SIM where the law needs them), then check it.

    ``grid``: None or ``"data"`` (default): starts derived from the table (starts.py); a name (``"hoffmann"``,
    ``"paper"``): a literal grid of the literature; a mapping: start values for every parameter. ``refine`` best-
    scored starts are optimised (every start with ``None``); see the module docstring. A fit that fails a check
    (checks.py) is returned with ``ok`` False and its ``failures``, and logged as a warning.
    """
    model = get_law(law)
    table = prepare(table, model).reset_index(drop=True)
    data, log_loss = _tensors(table, model)
    problem = make_problem(model, data, log_loss, delta)
    starts = model.starts({name: column.numpy() for name, column in data.items()}, table["loss"].to_numpy(), grid)
    scores = score_starts(model, starts, data, log_loss, delta)
    ranked = starts[np.argsort(scores, kind="stable")]
    chosen = ranked if refine is None else ranked[:refine]
    solution = newton_solve(problem, chosen, None, lower_bounds(model), race=True)
    results = _newton_results(chosen, solution)
    polished = [_minimise(problem, model, theta) for theta in _distinct_best(solution, POLISHED)]
    best = _best(polished + results)
    restarted = _restart(problem, model, best)
    everything = results + polished + ([restarted] if restarted is not best else [])
    theta = np.array(restarted.theta)
    result = FitResult(model, table, theta, restarted.objective, restarted.converged, everything, delta, ranked[:64],
                       identifiability_warnings(model, table, theta), cached_problem=problem)
    result.fit_failures, result.diagnostics = check_fit(result, _origin(restarted, everything), restarted.converged)
    for failure in result.fit_failures:
        log.warning("fit %s FAILED: %s", law, failure)
    return result


def fit_groups(table: pd.DataFrame, by: str, law: str = "power", **options: Any) -> dict[Any, FitResult]:
    """One fit per group (e.g. the per-corpus power law L(V) = E + B/V^β), for quick curves side by side.

    A row without a group, or a group with fewer rows than the law has parameters, is an error naming the rows.
    """
    if by not in table:
        raise KeyError(f"no column {by!r} to group by; the table has {list(table.columns)}")
    unnamed = table.index[table[by].isna()].tolist()
    if unnamed:
        raise ValueError(f"rows {unnamed[:20]} have no {by!r}: they belong to no group")
    needed = len(get_law(law).params)
    fits = {}
    for name, rows in table.groupby(by, observed=False):
        if len(rows) < needed:
            raise ValueError(f"group {by}={name!r} has {len(rows)} rows {rows.index.tolist()[:20]}; law {law!r} "
                             f"needs at least {needed}")
        fits[name] = fit(rows, law, **options)
    return fits
