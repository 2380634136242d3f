"""The batched Newton solver: closed-form derivatives equal autograd's, and it reaches scipy's optimum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.scaling.fitting import _minimise, _tensors, lower_bounds
from ziya2lab.scaling.laws import LAWS, get_law
from ziya2lab.scaling.newton import analytic_problem, autograd_problem, newton_solve
from ziya2lab.scaling.resampling import run_weights


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = 40
    return pd.DataFrame({"N": rng.choice([1e6, 1e7, 1e8], rows), "D": 10 ** rng.uniform(7, 10, rows),
                         "V": 10 ** rng.uniform(3, 6, rows), "CH": rng.uniform(0.2, 1, rows),
                         "RA": rng.uniform(0.2, 1, rows), "SIM": rng.uniform(0, 0.5, rows),
                         "loss": rng.uniform(2.0, 4.0, rows)})


@pytest.mark.parametrize("name", sorted(LAWS))
def test_closed_form_derivatives_equal_autograd(name: str) -> None:
    law = get_law(name)
    table = _table()
    data, log_loss = _tensors(table, law)
    rng = np.random.default_rng(1)
    theta = rng.uniform(0.05, 1.0, (6, len(law.params)))
    theta[:, [law.params.index(p) for p in law.params if p.startswith("log_")]] += 1.0
    weights = rng.integers(0, 3, (6, len(table))).astype(float)
    delta = 0.05  # wide enough that both Huber zones are populated
    closed = analytic_problem(law, {k: v.numpy() for k, v in data.items()}, log_loss.numpy(), delta)
    reference = autograd_problem(law, data, log_loss, delta)
    for ours, theirs in zip(closed.derivatives(theta, weights), reference.derivatives(theta, weights), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    targets = log_loss.numpy() + rng.normal(0, 0.05, (6, len(table)))  # each row its own log losses
    for ours, theirs in zip(closed.derivatives(theta, weights, targets), reference.derivatives(theta, weights, targets),
                            strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


def test_batched_solver_matches_lbfgsb_on_weighted_problems() -> None:
    law = get_law("power")
    rng = np.random.default_rng(3)
    volume = np.geomspace(1e3, 1e7, 30)
    table = pd.DataFrame({"V": volume, "loss": (1.5 + 40 * volume**-0.3) * np.exp(rng.normal(0, 0.01, 30))})
    data, log_loss = _tensors(table, law)
    weights = run_weights(table, 5, seed=0)
    problem = analytic_problem(law, {"V": volume}, log_loss.numpy(), 1e-3)
    start = np.array([3.0, 0.2, 0.3])
    solution = newton_solve(problem, np.tile(start, (5, 1)), weights, lower_bounds(law))
    assert solution.converged.all()
    for row in range(5):
        scipy = _minimise(autograd_problem(law, data, log_loss, 1e-3), law, start, weights[row])
        assert solution.objective[row] <= scipy.objective * (1 + 1e-9)
        np.testing.assert_allclose(solution.theta[row], scipy.theta, rtol=1e-5)


def test_rows_with_their_own_targets_solve_their_own_tables() -> None:
    """A residual bootstrap refits redrawn tables in one batch: row k against targets k equals a fit of table k."""
    law = get_law("power")
    rng = np.random.default_rng(4)
    volume = np.geomspace(1e3, 1e7, 30)
    clean = np.log(1.5 + 40 * volume**-0.3)
    targets = clean + rng.normal(0, 0.01, (3, 30))
    problem = analytic_problem(law, {"V": volume}, clean, 1e-3)
    start = np.array([3.0, 0.2, 0.3])
    batched = newton_solve(problem, np.tile(start, (3, 1)), None, lower_bounds(law), targets=targets)
    for row in range(3):
        alone = newton_solve(analytic_problem(law, {"V": volume}, targets[row], 1e-3), start[None], None,
                             lower_bounds(law))
        np.testing.assert_allclose(batched.theta[row], alone.theta[0], rtol=1e-6)
    assert not np.allclose(batched.theta[0], batched.theta[1])
