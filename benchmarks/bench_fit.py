"""Chinchilla fit from Hoffmann's 4,500-start grid plus a 4,000-resample bootstrap: ours against plain serial scipy.

    .venv/bin/python benchmarks/bench_fit.py                       # reference on a random subset, extrapolated
    .venv/bin/python benchmarks/bench_fit.py --reference-starts 4500 --reference-resamples 4000   # all of it

Ours: ``ziya2lab.scaling.fit(table, "chinchilla", grid="hoffmann")`` (score all 4,500 starts in one pass, optimise
the 64 best together with the batched damped Newton solver, polish the best few with L-BFGS-B, check the fit) and
``FitResult.bootstrap(4000, refine=0, resampling="runs")`` (all resamples solved together, warm-started from the
full-data optimum; Epoch's resampling of rows). Also timed, not compared: the library's default fit,
``fit(table, "chinchilla")``, whose starts are derived from the data, and its default intervals: the residual
bootstrap (``bootstrap(4000, refine=0)``) and the profile with its threshold from 100 residual resamples
(``profile()``).

Reference, the same procedure done plainly: scipy.optimize.minimize(L-BFGS-B) with an analytic numpy gradient from
every grid start, one after another, keeping the best; then, per resample (the same resamples, as repeated rows),
L-BFGS-B from the full-data optimum. The full reference takes minutes, so by default it runs on a seeded random
subset of the starts and of the resamples and its time is extrapolated linearly (printed as such). Agreement is
measured where both ran: the best-fit parameters, each subset resample's parameters, and the percentile CIs over
that subset.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ziya2lab.scaling import fit
from ziya2lab.scaling.laws import get_law
from ziya2lab.scaling.resampling import RUNS, run_weights

DATA = Path(__file__).parents[1] / "tests" / "fixtures" / "chinchilla_svg_extracted.csv"
DELTA = 1e-3
NAMES = ("A", "B", "E", "alpha", "beta")


def chinchilla_table() -> pd.DataFrame:
    table = pd.read_csv(DATA).rename(columns={"Model Size": "N"})
    table["D"] = table["Training FLOP"] / (6 * table["N"])
    return table.sort_values("loss").iloc[:-5][["N", "D", "loss"]].reset_index(drop=True)  # Epoch: drop 5 highest


def reference_objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray,
                        log_loss: np.ndarray) -> tuple[float, np.ndarray]:
    """Sum-reduced Huber of LSE(a − α log N, b − β log D, e) − log L and its analytic gradient, for one θ."""
    log_a, log_b, log_e, alpha, beta = theta
    terms = np.stack([log_a - alpha * log_n, log_b - beta * log_d, np.full_like(log_n, log_e)])
    top = terms.max(axis=0)
    exponentials = np.exp(terms - top)
    total = exponentials.sum(axis=0)
    residual = top + np.log(total) - log_loss
    weight = exponentials / total
    slope = np.clip(residual, -DELTA, DELTA)
    value = np.where(np.abs(residual) <= DELTA, 0.5 * residual**2, DELTA * (np.abs(residual) - 0.5 * DELTA)).sum()
    gradient = np.array([(slope * weight[0]).sum(), (slope * weight[1]).sum(), (slope * weight[2]).sum(),
                         -(slope * weight[0] * log_n).sum(), -(slope * weight[1] * log_d).sum()])
    return float(value), gradient


def columns(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.log(table["N"].to_numpy()), np.log(table["D"].to_numpy()), np.log(table["loss"].to_numpy())


TIGHT = {"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10}  # the tolerances our fit's L-BFGS-B polish uses
OPTIONS = dict(TIGHT)


def reference_minimise(start: np.ndarray, table: pd.DataFrame) -> tuple[np.ndarray, float, bool]:
    arguments = columns(table)
    result = minimize(reference_objective, start, args=arguments, jac=True, method="L-BFGS-B", options=OPTIONS)
    return result.x, float(result.fun), bool(result.success)


def reported(theta: np.ndarray) -> np.ndarray:
    """(…, 5) log-space θ → A, B, E, alpha, beta."""
    return np.concatenate([np.exp(theta[..., :3]), theta[..., 3:]], axis=-1)


def relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resamples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reference-starts", type=int, default=150, help="random subset of the 4,500 starts")
    parser.add_argument("--reference-resamples", type=int, default=200, help="random subset of the resamples")
    parser.add_argument("--scipy-default-tolerances", action="store_true",
                        help="run the reference with scipy's default L-BFGS-B tolerances instead of ours (faster, "
                             "less exact)")
    args = parser.parse_args()
    if args.scipy_default_tolerances:
        OPTIONS.clear()
    table = chinchilla_table()
    starts = get_law("chinchilla").starts({"N": table["N"].to_numpy(), "D": table["D"].to_numpy()},
                                          table["loss"].to_numpy(), "hoffmann")

    began = time.perf_counter()
    default = fit(table, "chinchilla")
    default_fit_s = time.perf_counter() - began
    began = time.perf_counter()
    result = fit(table, "chinchilla", grid="hoffmann")
    fit_s = time.perf_counter() - began
    result.bootstrap(args.resamples, seed=args.seed, refine=0, resampling=RUNS)
    ours_s = time.perf_counter() - began
    bootstrap_s = ours_s - fit_s
    ours_samples = result.bootstrap_samples[list(NAMES)].to_numpy()
    converged = float(np.mean(result.bootstrap_converged))
    began = time.perf_counter()
    default.bootstrap(args.resamples, seed=args.seed, refine=0)
    residual_bootstrap_s = time.perf_counter() - began
    began = time.perf_counter()
    default.profile()
    profile_s = time.perf_counter() - began

    pick = np.random.default_rng(0)
    start_subset = np.sort(pick.choice(len(starts), min(args.reference_starts, len(starts)), replace=False))
    resample_subset = np.sort(pick.choice(args.resamples, min(args.reference_resamples, args.resamples),
                                          replace=False))
    began = time.perf_counter()
    runs = [reference_minimise(starts[index], table) for index in start_subset]
    reference_fit_s = time.perf_counter() - began
    successful = [run for run in runs if run[2] and np.isfinite(run[1])] or runs
    reference_theta, reference_objective_value, _ = min(successful, key=lambda run: run[1])
    weights = run_weights(table, args.resamples, args.seed)
    began = time.perf_counter()
    resampled = [table.loc[np.repeat(table.index, weights[index].astype(int))] for index in resample_subset]
    reference_runs = [reference_minimise(reference_theta, rows) for rows in resampled]
    reference_bootstrap_s = time.perf_counter() - began
    reference_samples = np.array([reported(run[0]) for run in reference_runs])
    reference_s = (reference_fit_s * len(starts) / len(start_subset)
                   + reference_bootstrap_s * args.resamples / len(resample_subset))

    ours_best = np.array([result.params[name] for name in NAMES])
    theirs_best = reported(reference_theta)
    ours_subset = ours_samples[resample_subset]
    ours_log = np.concatenate([np.log(ours_subset[:, :3]), ours_subset[:, 3:]], axis=1)
    gaps = np.array([(reference_objective(theta, *columns(rows))[0] - run[1]) / run[1]
                     for theta, rows, run in zip(ours_log, resampled, reference_runs, strict=True)])
    ci_ours = np.percentile(ours_subset, [2.5, 97.5], axis=0)
    ci_theirs = np.percentile(reference_samples, [2.5, 97.5], axis=0)
    ci_full = np.percentile(ours_samples, [2.5, 97.5], axis=0)
    newton_starts = [start for start in result.starts if start.message.startswith("batched Newton")]
    at_optimum = sum(start.objective <= result.objective * (1 + 1e-9) for start in newton_starts)
    figures = {
        "ours_s": round(ours_s, 2),
        "ours_fit_s": round(fit_s, 2),
        "ours_default_grid_fit_s": round(default_fit_s, 2),
        "default_grid_objective_excess": (default.objective - result.objective) / result.objective,
        "ours_bootstrap_s": round(bootstrap_s, 2),
        "default_residual_bootstrap_s": round(residual_bootstrap_s, 2),
        "default_profile_s": round(profile_s, 2),
        "reference_s": round(reference_s, 1),
        "reference_tolerances": "scipy defaults" if not OPTIONS else "tight",
        "reference_extrapolated": len(start_subset) < len(starts) or len(resample_subset) < args.resamples,
        "speedup": round(reference_s / ours_s, 1),
        "max_param_rel_diff": relative(ours_best, theirs_best),
        "max_bootstrap_param_rel_diff": relative(ours_subset, reference_samples),
        "max_ci_rel_diff": relative(ci_ours, ci_theirs),
        "max_bootstrap_objective_excess": float(gaps.max()),  # (ours − reference) / reference; ≤ 0: ours as low
        "objective_ours": result.objective,
        "objective_reference": reference_objective_value,
        "bootstrap_converged": converged,
    }
    print(f"Chinchilla data: {len(table)} points; grid of {len(starts)} starts; {args.resamples} bootstrap resamples "
          f"(seed {args.seed})")
    print(f"reference tolerances: {OPTIONS or 'scipy defaults'}")
    print(f"reference ran {len(start_subset)} random starts in {reference_fit_s:.1f} s and {len(resample_subset)} "
          f"random resamples in {reference_bootstrap_s:.1f} s; full-size time extrapolated linearly")
    print(f"ours: fit {fit_s:.2f} s ({len(newton_starts)} screened starts optimised together, {at_optimum} reach "
          f"the optimum), bootstrap {bootstrap_s:.2f} s; total {ours_s:.2f} s vs reference {reference_s:.1f} s "
          f"-> {reference_s / ours_s:.1f}x")
    print(f"objective: ours {result.objective:.12e}, reference (best of its starts) {reference_objective_value:.12e}")
    data_starts = get_law("chinchilla").data_starts({"N": table["N"].to_numpy(), "D": table["D"].to_numpy()},
                                                    table["loss"].to_numpy())
    print(f"the library's default grid (derived from the data, {len(data_starts)} starts): fit {default_fit_s:.2f} s, "
          f"objective {default.objective:.12e}; its residual bootstrap ({args.resamples} resamples) "
          f"{residual_bootstrap_s:.2f} s, its profile (threshold from 100 residual resamples) {profile_s:.2f} s")
    print(f"per resample, ours minus reference objective (relative): max {gaps.max():.2e}, min {gaps.min():.2e}; "
          f"ours lower or equal (within 1e-12) on {(gaps <= 1e-12).sum()} of {len(gaps)}")
    header = f"{'param':>6} {'ours':>14} {'reference':>14} {'ours 95% CI (subset)':>26} {'reference 95% CI':>26}" \
             f" {'ours 95% CI (all)':>26}"
    print(header)
    for column, name in enumerate(NAMES):
        print(f"{name:>6} {ours_best[column]:>14.6f} {theirs_best[column]:>14.6f} "
              f"{ci_ours[0, column]:>12.5f}, {ci_ours[1, column]:<12.5f} "
              f"{ci_theirs[0, column]:>12.5f}, {ci_theirs[1, column]:<12.5f} "
              f"{ci_full[0, column]:>12.5f}, {ci_full[1, column]:<12.5f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
