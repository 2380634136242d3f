"""Many fits of one law at once: a batched, damped Newton method with exact per-problem Hessians.

A multi-start grid (4,500 starts for Chinchilla, 32,768 for Ziya2) and a bootstrap (thousands of resamples) are
thousands of small problems of the same shape: p ≤ 8 parameters, a few hundred points. Solving them one after
another with scipy's L-BFGS-B spends nearly all its time in per-call overhead. Here every problem is a row of one
array problem: each problem's exact gradient and p×p Hessian come from one vectorised pass, and each row takes its
own damped Newton step. A bootstrap resample is the full data with integer weights (how often each point was
drawn), so all resamples share one data array and f(θ, w) = Σ_i w_i·Huber_δ(log L̂_i(θ) − log L_i).

Derivatives are closed-form from each law's term derivatives (laws.py): with log L̂_i = LSE_k t_ik, softmax
s_ik, J_i = Σ_k s_ik ∇t_ik and the Huber function h of the residual r_i,
    g = Σ_i w_i h′_i J_i,
    H = Σ_i w_i [(h″_i − h′_i) J_i J_iᵀ + h′_i Σ_k s_ik (∇t_ik ∇t_ikᵀ + ∇²t_ik)].
A law without closed-form term derivatives gets exact ones from ``torch.func`` (slower).

The Huber objective's Hessian can be indefinite (in the linear zone only the LSE curvature, times ±δ, remains),
so each step uses the Hessian's eigenvalues in absolute value ("saddle-free" Newton) plus a damping λ that grows
on a rejected step and shrinks on an accepted one, both on the Hessian scaled to a unit diagonal (Marquardt's
scaling: parameters of very different scales, A ~ 1/V against log F ~ 20, would otherwise leave the weakly
curved directions damped to a crawl); a step is accepted only if it lowers that problem's objective,
so every row descends monotonically. Lower bounds are handled by projection with an active set: parameters at
their bound whose gradient pushes outward are frozen for the step. A row may also hold some parameters fixed
(``fixed``), which is how a profile likelihood minimises over the others, and may fit its own log losses
(``targets``), which is how a residual bootstrap refits every redrawn table in one batch.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.func import grad_and_value, jacfwd, jacrev, vmap

from ziya2lab.scaling.laws import Law, TermDerivatives


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch and BLAS single-threaded inside (also as a decorator): a fit's arrays are tiny, and on a busy
    machine their thread pools make each operation many times slower than one thread (2-35x measured on 2 shared
    cores). The previous settings are restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(previous)


# (θ (B, p), weights (B, n), targets (B, n) or None: the problem's own log losses) -> H, g, f
Derivatives = Callable[[np.ndarray, np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray, np.ndarray]]


def huber(residuals: torch.Tensor, delta: float) -> torch.Tensor:
    absolute = residuals.abs()
    return torch.where(absolute <= delta, 0.5 * residuals**2, delta * (absolute - 0.5 * delta))


def _huber_numpy(residuals: np.ndarray, delta: float) -> np.ndarray:
    absolute = np.abs(residuals)
    return np.where(absolute <= delta, 0.5 * residuals**2, delta * (absolute - 0.5 * delta))


@dataclass
class Problem:
    """The objective of one law on one table: batched (Hessians, gradients, values) at θ (B, p), weights (B, n) and,
    optionally, per-row log losses (B, n) in place of the table's."""

    derivatives: Derivatives
    points: int
    closed_form: bool


def _log_sum_exp(terms: TermDerivatives) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log L̂ (B, n), the terms' softmax s (B, K, n), J = ∂log L̂/∂θ = Σ_k s_k ∇t_k (B, n, p))."""
    top = terms.terms.max(axis=1, keepdims=True)
    exponentials = np.exp(terms.terms - top)
    total = exponentials.sum(axis=1, keepdims=True)
    softmax = exponentials / total
    jacobian = (softmax[..., None] * terms.gradients).sum(axis=1)
    return (top + np.log(total))[:, 0], softmax, jacobian


def log_prediction_jacobian(law: Law, theta: np.ndarray, data: dict[str, np.ndarray]) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """(log L̂ (n,), ∂log L̂/∂θ (n, p)) at one θ: closed-form where the law has term derivatives, else autograd."""
    terms = law.term_derivatives(theta[None], data)
    if terms is not None:
        log_prediction, _, jacobian = _log_sum_exp(terms)
        return log_prediction[0], jacobian[0]
    tensors = {name: torch.from_numpy(column) for name, column in data.items()}
    vector = torch.from_numpy(theta)
    with torch.no_grad():
        log_prediction = law.log_predict(vector, tensors).numpy()
    return log_prediction, jacrev(lambda value: law.log_predict(value, tensors))(vector).numpy()


def analytic_problem(law: Law, data: dict[str, np.ndarray], log_loss: np.ndarray, delta: float) -> Problem:
    """Closed-form derivatives from the law's term derivatives (see the module docstring for H)."""

    def derivatives(theta: np.ndarray, weights: np.ndarray,
                    targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        terms = law.term_derivatives(theta, data)
        log_prediction, softmax, jacobian = _log_sum_exp(terms)
        residuals = log_prediction - (log_loss if targets is None else targets)
        slope = np.clip(residuals, -delta, delta)  # h′
        curvature = (np.abs(residuals) <= delta).astype(np.float64)  # h″
        gradient = np.matmul((weights * slope)[:, None, :], jacobian)[:, 0]
        hessian = np.matmul((jacobian * (weights * (curvature - slope))[:, :, None]).transpose(0, 2, 1), jacobian)
        term_weights = (weights * slope)[:, None, :] * softmax  # (B, K, n)
        for k in range(softmax.shape[1]):
            term_gradient = terms.gradients[:, k]
            hessian += np.matmul((term_gradient * term_weights[:, k, :, None]).transpose(0, 2, 1), term_gradient)
        if terms.curvature is not None:
            hessian += terms.curvature(term_weights)
        return hessian, gradient, (weights * _huber_numpy(residuals, delta)).sum(axis=1)

    return Problem(derivatives, len(log_loss), closed_form=True)


def autograd_problem(law: Law, data: dict[str, torch.Tensor], log_loss: torch.Tensor, delta: float) -> Problem:
    """Exact derivatives of any law by ``torch.func`` (vmap over problems of jacfwd over grad)."""

    def objective(theta: torch.Tensor, weights: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (weights * huber(law.log_predict(theta, data) - target, delta)).sum()

    def gradient_with_value(theta: torch.Tensor, weights: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor,
                                                                                                       tuple]:
        gradient, value = grad_and_value(objective)(theta, weights, target)
        return gradient, (gradient, value)

    batched_derivatives = vmap(jacfwd(gradient_with_value, has_aux=True))

    def derivatives(theta: np.ndarray, weights: np.ndarray,
                    targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target = log_loss.expand(len(theta), -1) if targets is None else torch.from_numpy(targets)
        with torch.no_grad():
            hessian, (gradient, value) = batched_derivatives(torch.from_numpy(theta), torch.from_numpy(weights),
                                                             target)
        return hessian.numpy(), gradient.numpy(), value.numpy()

    return Problem(derivatives, len(log_loss), closed_form=False)


def make_problem(law: Law, data: dict[str, torch.Tensor], log_loss: torch.Tensor, delta: float) -> Problem:
    arrays = {name: column.numpy() for name, column in data.items()}
    if law.term_derivatives(np.zeros((1, len(law.params))), arrays) is not None:
        return analytic_problem(law, arrays, log_loss.numpy(), delta)
    return autograd_problem(law, data, log_loss, delta)


@dataclass
class BatchedSolution:
    theta: np.ndarray  # (problems, params)
    objective: np.ndarray  # (problems,)
    gradient_norm: np.ndarray  # (problems,): norm of the projected gradient at theta
    converged: np.ndarray  # (problems,) bool: stopped by a tolerance, not by the iteration limit
    iterations: np.ndarray  # (problems,)


def _projected(gradient: np.ndarray, theta: np.ndarray, lower: np.ndarray,
               fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(free mask, projected gradient): a fixed parameter, or one at its bound with an outward-pushing gradient,
    is frozen."""
    free = ~((theta <= lower + 1e-12) & (gradient > 0)) & ~fixed
    return free, np.where(free, gradient, 0.0)


PROCESSES = min(2, os.cpu_count() or 1)
RACE_EVERY = 50
RACE_RATIO = 10.0
PROGRESS = 1e-9
_FORKED: tuple | None = None  # (problem, lower, options), inherited by forked workers instead of pickled


def _solve_forked(block: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]) -> BatchedSolution:
    problem, lower, options = _FORKED
    return _solve_block(problem, *block, lower, **options)


def newton_solve(problem: Problem, starts: np.ndarray, weights: np.ndarray | None, lower: np.ndarray,
                 max_iterations: int = 500, ftol: float = 1e-12, gtol: float = 1e-10, initial_damping: float = 1e-3,
                 chunk: int = 4096, processes: int = 1, fixed: np.ndarray | None = None,
                 race: bool = False, targets: np.ndarray | None = None) -> BatchedSolution:
    """Minimise f(θ_k, w_k) for every row k of ``starts`` (problems, p) and ``weights`` (problems, n; None: 1),
    over the parameters not ``fixed`` (problems, p) bool; None: all free) in that row, against that row's
    ``targets`` (problems, n) log losses (None: the problem's own).

    A row whose objective fell by less than ``PROGRESS`` (relative) over the last ``RACE_EVERY`` iterations also
    stops, converged in its objective: it is creeping along a valley the data leave flat (a parameter the data do
    not determine), where more iterations move the parameters but not the fit. With ``race`` (rows are starts of
    one problem, as in a multi-start fit), every ``RACE_EVERY`` iterations a row whose objective is more than
    ``RACE_RATIO`` times the best row's is abandoned (left unconverged): starts that far behind after tens of
    Newton steps are drifting along a plateau, not descending to the optimum.

    A row stops, converged, when its next step's predicted decrease (½·gᵀΔθ) falls below ``ftol`` (relative),
    when its projected gradient norm falls below ``gtol``, or when no damped step lowers it any further (λ at its
    ceiling: a kink of the Huber loss, or a flat plateau); else after ``max_iterations``. With ``processes`` > 1
    the rows are split over that many forked processes (numpy's elementwise work is single-threaded); use it only
    for closed-form problems (no torch in the children).
    """
    global _FORKED
    weights = np.ones((len(starts), problem.points)) if weights is None else weights
    fixed = np.zeros(np.shape(starts), dtype=bool) if fixed is None else fixed
    blocks = max(processes, -(-len(starts) // chunk))
    edges = np.linspace(0, len(starts), blocks + 1).astype(int)
    pieces = [(starts[low:high], weights[low:high], fixed[low:high], None if targets is None else targets[low:high])
              for low, high in itertools.pairwise(edges) if high > low]
    options = {"max_iterations": max_iterations, "ftol": ftol, "gtol": gtol, "initial_damping": initial_damping,
               "race": race}
    if processes > 1 and len(pieces) > 1:
        _FORKED = (problem, lower, options)
        try:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                parts = pool.map(_solve_forked, pieces)
        finally:
            _FORKED = None
    else:
        parts = [_solve_block(problem, *piece, lower, **options) for piece in pieces]
    return BatchedSolution(*(np.concatenate([getattr(part, name) for part in parts])
                             for name in ("theta", "objective", "gradient_norm", "converged", "iterations")))


def _solve_block(problem: Problem, starts: np.ndarray, weights: np.ndarray, fixed: np.ndarray,
                 targets: np.ndarray | None, lower: np.ndarray, *, max_iterations: int, ftol: float, gtol: float,
                 initial_damping: float, race: bool) -> BatchedSolution:
    theta = np.maximum(np.array(starts, dtype=np.float64), lower)
    count = len(theta)
    damping = np.full(count, initial_damping)
    converged = np.zeros(count, dtype=bool)
    iterations = np.zeros(count, dtype=np.int64)
    active = np.arange(count)
    with np.errstate(over="ignore", invalid="ignore"):
        hessian, gradient, value = problem.derivatives(theta, weights, targets)
        checkpoint = value.copy()
        for iteration in range(1, max_iterations + 1):
            if iteration % RACE_EVERY == 0:
                creeping = checkpoint[active] - value[active] <= PROGRESS * np.abs(value[active])
                converged[active[creeping]] = np.isfinite(value[active[creeping]])
                active = active[~creeping]
                if race:
                    active = active[value[active] <= RACE_RATIO * np.nanmin(value)]
                checkpoint[active] = value[active]
                if len(active) == 0:
                    break
            t, f = theta[active], value[active]
            free, g = _projected(gradient[active], t, lower, fixed[active])
            mask = free[:, :, None] & free[:, None, :]
            h = np.nan_to_num(np.where(mask, hessian[active], 0.0), nan=0.0, posinf=0.0, neginf=0.0)
            diagonal = np.sqrt(np.abs(np.diagonal(h, axis1=1, axis2=2)))  # Jacobi scaling (Marquardt's)
            diagonal = np.where(diagonal > 0, diagonal, 1.0)
            eigenvalues, vectors = np.linalg.eigh(h / diagonal[:, :, None] / diagonal[:, None, :])
            magnitude = np.abs(eigenvalues)
            scale = np.maximum(magnitude.max(axis=1, keepdims=True), 1e-300)
            inverse = 1.0 / (np.maximum(magnitude, 1e-12 * scale) + damping[active, None] * scale)
            scaled = -np.einsum("bij,bj->bi", vectors, inverse * np.einsum("bji,bj->bi", vectors, g / diagonal))
            step = np.where(free, scaled / diagonal, 0.0)
            predicted_decrease = -0.5 * np.einsum("bi,bi->b", g, step)
            done = ((predicted_decrease <= ftol * np.abs(f)) | (np.linalg.norm(g, axis=1) < gtol)) & np.isfinite(f)
            converged[active[done]] = True
            active, t, f, step, free = active[~done], t[~done], f[~done], step[~done], free[~done]
            if len(active) == 0:
                break
            trial = np.maximum(t + step, lower)
            row_targets = None if targets is None else targets[active]
            trial_hessian, trial_gradient, trial_value = problem.derivatives(trial, weights[active], row_targets)
            accepted = np.isfinite(trial_value) & (trial_value < f)
            kept = active[accepted]
            theta[kept], value[kept] = trial[accepted], trial_value[accepted]
            hessian[kept], gradient[kept] = trial_hessian[accepted], trial_gradient[accepted]
            damping[active] = np.where(accepted, np.maximum(damping[active] * 0.3, 1e-12), damping[active] * 10)
            iterations[active] += 1
            stalled = ~accepted & (damping[active] > 1e12)  # no damped step descends: a kink or a plateau
            converged[active[stalled]] = np.isfinite(value[active[stalled]])
            active = active[~stalled]
    gradient_norm = np.linalg.norm(_projected(gradient, theta, lower, fixed)[1], axis=1)
    return BatchedSolution(theta, value, gradient_norm, converged, iterations)
