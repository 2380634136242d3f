"""The checks that turn a failed fit into a loud failure: unmoved parameters, stationarity, held-out error
against a noise level measured without the law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.scaling import fit
from ziya2lab.scaling.checks import fold_weights, gradient_balance, noise_reference, unmoved_parameters
from ziya2lab.scaling.recovery import ISSUE_CASE, synthetic_table


@pytest.fixture(scope="module")
def issue_fit():
    return fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2")


def test_a_good_fit_passes_every_check(issue_fit) -> None:
    assert issue_fit.ok_fit, issue_fit.fit_failures
    assert issue_fit.diagnostics["gradient_balance"] < 1e-6
    assert issue_fit.diagnostics["unmoved_parameters"] == []


def test_the_noise_is_measured_from_replicates_without_the_law(issue_fit) -> None:
    noise, dof, source = noise_reference(issue_fit)
    assert source == "replicate rows" and dof == 108  # 108 pairs of identical runs' rows
    assert 0.7 * ISSUE_CASE.design.noise < noise < 1.3 * ISSUE_CASE.design.noise


def test_without_replicates_the_noise_comes_from_each_curve(issue_fit) -> None:
    table = issue_fit.table[issue_fit.table[RUN_COLUMN].str.len() > 0].copy()
    table = table.groupby(["CH", "RA", "SIM", "V"], as_index=False).first()  # one run per corpus
    result = fit(table, "ziya2")
    noise, _, source = noise_reference(result)
    assert source.startswith("polynomial") and noise < 3 * ISSUE_CASE.design.noise


def test_parameters_still_at_their_start_are_named(issue_fit) -> None:
    origin = issue_fit.theta.copy()
    origin[[0, 1]] += 0.5  # A and B moved; C, F, alpha, E "never left" this origin
    assert unmoved_parameters(issue_fit, origin) == ["C", "F", "alpha", "E"]


def test_a_point_off_the_optimum_is_not_stationary(issue_fit) -> None:
    moved = issue_fit.theta.copy()
    moved[4] *= 1.05  # alpha
    issue_fit_copy = fit(issue_fit.table, "ziya2", refine=4)
    issue_fit_copy.theta = moved
    assert gradient_balance(issue_fit_copy)[0] > 1e-3


def test_folds_leave_out_whole_runs_and_every_row_once() -> None:
    table = pd.DataFrame({RUN_COLUMN: np.repeat(np.arange(12), 3), "V": 1.0, "loss": 1.0})
    weights, label = fold_weights(table)
    assert label == "10 folds of runs"
    assert ((1 - weights).sum(axis=0) == 1).all()  # each row held out exactly once
    for fold in 1 - weights:
        held = table.loc[fold == 1, RUN_COLUMN]
        assert (table[table[RUN_COLUMN].isin(held)].index == held.index).all()  # a run is held out whole
