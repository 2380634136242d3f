"""Is a fit what it claims to be? Checks that turn a failed optimisation into a loud failure, not a number.

Issue 14 found the paper's grid returning α = 1.330 with a zero-width interval: no start left the plateau where
D_eff ≈ F, the optimiser reported convergence (the gradient vanishes there) and the bootstrap reproduced the same
start. Each check below would have caught it; each is computed for every fit:

- **converged**: the best optimum was reached by a converged run of the optimiser;
- **moved**: every parameter of the best optimum that is not at a bound has left the value it had at the grid
  start the optimum descends from (a parameter returned unchanged sits on a plateau of the objective);
- **gradient balance**: at the optimum, for every free parameter, the Huber-weighted pulls of the points cancel:
  |Σᵢ ψ(rᵢ)·∂log L̂ᵢ/∂θⱼ| ≤ 1e-3·Σᵢ |ψ(rᵢ)·∂log L̂ᵢ/∂θⱼ|, a scale-free test of stationarity;
  both exempt a parameter that no longer moves any prediction (its elasticity Σᵢ |∂log L̂ᵢ/∂log θⱼ| is below 1e-6
  of the largest parameter's): F → 0 or a coefficient → 0 is an optimum on the boundary of the law, where the
  points still pull the same way but nothing they pull changes;
- **within the data's scale** (``runaway_parameters``): no exponent above ``MAX_EXPONENT``, and no coefficient
  beyond every start derived from the data that the data do not hold there: a fit can run off along a valley to
  a huge coefficient while it still predicts held-out data (the last study's joint fit: K 8.9e41, α 7.9, β 34);
- **held-out error**: the log-RMSE on data left out of the fit (k folds of whole runs, refitted from the optimum)
  against a noise level measured *without the law*: the pooled spread of replicate rows (identical in every
  column the law reads), else the residuals of a quartic (a cubic for six points) in log volume along each curve
  of at least six positive volumes (a run's rows at one setting of the other columns). Held-out error more than
  ``FAR`` times that noise means the fit does not describe data it was not fitted on: a failed optimisation, a law
  that does not hold for these data, or a design that cannot identify it. Without a noise reference the held-out
  error is compared with the in-sample error over n − p degrees of freedom (overfitting); with fewer than five of
  those, it is not judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.scaling.intervals import fixed_solves, profile_statistic, robust_scale
from ziya2lab.scaling.newton import log_prediction_jacobian, newton_solve

if TYPE_CHECKING:
    from ziya2lab.scaling.fitting import FitResult

FAR = 3.0  # held-out log-RMSE above this multiple of the noise is a failed fit
MAX_EXPONENT = 3.0  # twice the largest start exponent: above it a "power law" falls 1000x per decade of its variable
RAN_OFF = "ran off beyond the data's scale"  # the failures of runaway_parameters begin so
RUNAWAY_STATISTIC = 1.0  # S below this a decade further out: the data do not hold the coefficient where it is
GRADIENT_BALANCE = 1e-3
MOVED = 1e-7  # relative distance from a start below which the optimum "never moved"
NEGLIGIBLE = 1e-6  # elasticity, relative to the largest parameter's, below which a parameter moves no prediction
MAX_FOLDS = 10
MIN_CURVE_POINTS = 6  # points along one curve for its polynomial noise reference
MAX_DEGREE = 4  # of that polynomial in log volume (a cubic overstates the noise 3-15x on long sigmoidal curves)
MIN_NOISE_DOF = 5


def parameter_scales(lower: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The scale a change of each parameter is measured against: its own size for a parameter with a lower bound
    (a coefficient or an exponent, which can sit anywhere down to 1e-12), 1 + its size for an unbounded (log-space)
    one. A fixed 1 + size would call a coefficient of 1e-10 that grew fivefold "unmoved"."""
    return np.where(np.isfinite(lower), np.abs(values), 1 + np.abs(values))


def distance_from_starts(theta: np.ndarray, starts: np.ndarray, lower: np.ndarray) -> float:
    """The smallest relative max-coordinate distance between ``theta`` and any of ``starts`` (``parameter_scales``;
    a coordinate at 0 in both counts as unmoved)."""
    if len(starts) == 0:
        return float("inf")
    change = np.abs(starts - theta)
    scale = parameter_scales(lower, theta)
    relative = np.where(change > 0, change / np.where(scale > 0, scale, np.inf), 0.0)
    return float(relative.max(axis=1).min())


def _residuals_and_jacobian(result: FitResult) -> tuple[np.ndarray, np.ndarray]:
    data, log_loss = result.tensors()
    log_prediction, jacobian = log_prediction_jacobian(result.law, result.theta,
                                                       {name: column.numpy() for name, column in data.items()})
    return log_prediction - log_loss.numpy(), jacobian


def negligible(result: FitResult, jacobian: np.ndarray) -> np.ndarray:
    """Per parameter: does it no longer move any prediction? Its elasticity Σᵢ |∂log L̂ᵢ/∂log θⱼ| (the derivative
    itself for log-space parameters) is below ``NEGLIGIBLE`` of the largest parameter's."""
    linear = np.array([name not in result.law.log_params for name in result.law.params])
    elasticity = np.abs(jacobian * np.where(linear, result.theta, 1.0)).sum(axis=0)
    return elasticity < NEGLIGIBLE * elasticity.max()


def unmoved_parameters(result: FitResult, origin: np.ndarray) -> list[str]:
    """Parameters, off their bounds and not negligible, still at their value in ``origin`` (the start the optimum
    descends from)."""
    unmoved = (np.abs(result.theta - origin) <= MOVED * parameter_scales(result.lower_bounds(), origin)) & (
        result.theta > result.lower_bounds() + 1e-12) & ~negligible(result, _residuals_and_jacobian(result)[1])
    return [name for name, still in zip(result.law.reported_names(), unmoved, strict=True) if still]


def gradient_balance(result: FitResult) -> tuple[float, str]:
    """(max over free, not negligible parameters of |Σ ψ·J| / Σ |ψ·J| at the optimum, that parameter): 0 is
    stationary, 1 means every point pulls that parameter the same way."""
    residuals, jacobian = _residuals_and_jacobian(result)
    pulls = np.clip(residuals, -result.delta, result.delta)[:, None] * jacobian
    gradient, scale = pulls.sum(axis=0), np.abs(pulls).sum(axis=0)
    exempt = ((result.theta <= result.lower_bounds() + 1e-12) & (gradient > 0)) | negligible(result, jacobian)
    ratios = np.where(exempt | (scale <= 0), 0.0, np.abs(gradient) / np.where(scale > 0, scale, 1))
    worst = int(np.argmax(ratios))
    return float(ratios[worst]), result.law.reported_names()[worst]


def _volume(result: FitResult) -> str:
    return next(column for column in ("V", "D", "N") if column in result.law.columns)


def noise_reference(result: FitResult) -> tuple[float, int, str] | None:
    """(log-RMSE, degrees of freedom, source) of the noise, measured without the law; None if the data lack it."""
    table = result.table.assign(log_loss=np.log(result.table["loss"].to_numpy()))
    columns = list(result.law.columns)
    replicates = table.groupby(columns)["log_loss"]
    squares = float(((table["log_loss"] - replicates.transform("mean")) ** 2).sum())
    dof = int((replicates.size() - 1).sum())
    if dof >= MIN_NOISE_DOF:
        return float(np.sqrt(squares / dof)), dof, "replicate rows"
    volume = _volume(result)
    curve_keys = [column for column in columns if column != volume] + ([RUN_COLUMN] if RUN_COLUMN in table else [])
    squares, dof = 0.0, 0
    for _, curve in (table.groupby(curve_keys) if curve_keys else [(None, table)]):
        curve = curve[curve[volume] > 0].groupby(volume, as_index=False)["log_loss"].mean()  # log V: V > 0 only
        if len(curve) >= MIN_CURVE_POINTS:
            x = np.log(curve[volume].to_numpy())
            degree = min(MAX_DEGREE, len(curve) - 3)
            fitted = np.polyval(np.polyfit(x - x.mean(), curve["log_loss"].to_numpy(), degree), x - x.mean())
            squares += float(((curve["log_loss"].to_numpy() - fitted) ** 2).sum())
            dof += len(curve) - degree - 1
    if dof >= MIN_NOISE_DOF:
        return float(np.sqrt(squares / dof)), dof, "polynomial in log volume along each curve"
    return None


def fold_weights(table: pd.DataFrame) -> tuple[np.ndarray, str]:
    """(folds, rows) 0/1 weights that leave one fold out each: whole runs where the table names ≥ 4, else rows."""
    if RUN_COLUMN in table and table[RUN_COLUMN].nunique() >= 4:
        unit, label = table.groupby(RUN_COLUMN, sort=True).ngroup().to_numpy(), "runs"
    else:
        unit, label = np.arange(len(table)), "rows"
    units = int(unit.max()) + 1
    folds = min(MAX_FOLDS, units)
    fold_of_unit = np.random.default_rng(0).permutation(units) % folds
    held_out = fold_of_unit[unit][None, :] == np.arange(folds)[:, None]
    return (~held_out).astype(np.float64), f"{folds} folds of {label}"


def heldout_log_rmse(result: FitResult) -> tuple[float, str]:
    """Log-RMSE of each fold's points under the fit refitted without them (from the full fit's optimum)."""
    weights, label = fold_weights(result.table)
    solution = newton_solve(result.problem(), np.tile(result.theta, (len(weights), 1)), weights,
                            result.lower_bounds(), initial_damping=1e-6)
    residuals = result.log_predictions(solution.theta) - result.tensors()[1].numpy()[None, :]
    squares = [row[kept == 0] ** 2 for row, kept in zip(residuals, weights, strict=True)]
    return float(np.sqrt(np.concatenate(squares).mean())), label


def runaway_parameters(result: FitResult) -> dict[str, str]:
    """Parameters that moved predictions and ran off beyond any scale the data can identify, with why.

    - An exponent above ``MAX_EXPONENT`` turns a power term into a step between two of the data's values (the
      last study's joint fit: α 7.9, β 34, K 8.9e41).
    - A coefficient (log-space, or a positive linear one, compared in log) that lies beyond every start derived
      from this table (starts.py places them on the data's own scales) *and* that the data do not hold there:
      moved one more decade outward, the others re-optimised, the profile statistic S rises by less than
      ``RUNAWAY_STATISTIC``. Such an estimate sits in a valley running off to infinity, where the law trades one
      parameter against another (a development case: B = 1.3e35 with α → 0.05, truth B 0.13, α 0.32); its value
      is wherever the optimiser stopped, not a measurement.
    A parameter that moves no prediction (``negligible``) is exempt: its value is the law's boundary, not a claim.
    """
    law = result.law
    data = {column: result.table[column].to_numpy(dtype=np.float64) for column in law.columns}
    starts = law.data_starts(data, result.table["loss"].to_numpy(dtype=np.float64))
    moving = ~negligible(result, _residuals_and_jacobian(result)[1])
    found, beyond = {}, {}  # beyond: index -> the value one decade further out
    for index, (name, plain) in enumerate(zip(law.params, law.reported_names(), strict=True)):
        value, span = result.theta[index], starts[:, index]
        if not moving[index]:
            continue
        if name in law.exponents:
            if value > MAX_EXPONENT:
                found[plain] = (f"{plain} = {value:.3g} > {MAX_EXPONENT:g}: a power term falling more than "
                                f"{10 ** MAX_EXPONENT:.0f}× per decade is a step between data points, not a law")
        elif span.min() <= value <= span.max() or (name not in law.log_params and (value <= 0 or (span <= 0).any())):
            continue
        elif name in law.log_params:
            beyond[index] = value + np.log(10) * (1 if value > span.max() else -1)
        else:
            beyond[index] = value * (10 if value > span.max() else 0.1)
    return found | (_unheld(result, beyond) if beyond else {})


def _unheld(result: FitResult, beyond: dict[int, float]) -> dict[str, str]:
    """Of the parameters ``beyond`` the starts' span (index -> its value a decade further out), those the data do
    not hold: S there stays below ``RUNAWAY_STATISTIC``."""
    scale = robust_scale(result.log_residuals(), result.delta, len(result.theta))
    if scale is None:
        return {}
    indices = np.array(list(beyond))
    objectives, _ = fixed_solves(result, indices, np.array(list(beyond.values())),
                                 np.tile(result.theta, (len(indices), 1)))
    statistics = profile_statistic(result, scale, objectives)
    names = result.law.reported_names()
    return {names[index]: (f"{names[index]} = {result.params[names[index]]:.3g} lies beyond every start derived "
                           f"from the data, and a decade further fits as well (S = {statistic:.2g} < "
                           f"{RUNAWAY_STATISTIC:g}): the data do not hold it there")
            for index, statistic in zip(indices, statistics, strict=True) if statistic < RUNAWAY_STATISTIC}


def check_fit(result: FitResult, origin: np.ndarray, converged: bool) -> tuple[list[str], dict[str, Any]]:
    """(failures, diagnostics) of a fit whose best optimum descends from the start ``origin``; no failures: ok."""
    failures = []
    if not converged:
        failures.append("the optimiser did not converge from any start")
    unmoved = unmoved_parameters(result, origin)
    if unmoved:
        values = ", ".join(f"{name}={result.params[name]:.4g}" for name in unmoved)
        failures.append(f"{values} never left the start: the optimum sits on a plateau of the objective "
                        "(typically a start grid on the wrong scale for these data)")
    runaway = runaway_parameters(result)
    failures += [f"{RAN_OFF}: {why}" for why in runaway.values()]
    balance, worst = gradient_balance(result)
    if balance > GRADIENT_BALANCE:
        failures.append(f"not a stationary point: the points' pulls on {worst} leave a net {balance:.2g} of their "
                        "total (the gradient is not small)")
    residual = float(np.sqrt(np.mean(result.log_residuals() ** 2)))
    heldout, folds = heldout_log_rmse(result)
    diagnostics: dict[str, Any] = {"unmoved_parameters": unmoved, "runaway_parameters": list(runaway),
                                   "gradient_balance": balance,
                                   "residual_log_rmse": residual, "heldout_log_rmse": heldout, "heldout": folds}
    noise = noise_reference(result)
    if noise is not None:
        diagnostics |= {"noise_log_rmse": noise[0], "noise_dof": noise[1], "noise_source": noise[2]}
        if heldout > FAR * noise[0]:
            failures.append(f"held-out log-RMSE {heldout:.3g} is {heldout / noise[0]:.1f}× the noise "
                            f"{noise[0]:.3g} ({noise[2]}): the fit does not describe data it was not fitted on")
    elif len(result.table) - len(result.theta) >= MIN_NOISE_DOF:
        in_sample = residual * np.sqrt(len(result.table) / (len(result.table) - len(result.theta)))  # unbiased
        diagnostics["in_sample_log_rmse_unbiased"] = in_sample
        if heldout > FAR * in_sample:
            failures.append(f"held-out log-RMSE {heldout:.3g} is {heldout / in_sample:.1f}× the in-sample "
                            f"{in_sample:.3g}: the fit does not predict data it was not fitted on (no noise "
                            "reference)")
    return failures, diagnostics
