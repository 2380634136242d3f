"""Scaling-law fits: the golden Chinchilla replication on published data, issue 14's case, recovery of known
parameters with the default (data-derived) start grid, and clear errors on bad tables."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.scaling import fit
from ziya2lab.scaling.fitting import prepare
from ziya2lab.scaling.laws import get_law
from ziya2lab.scaling.recovery import ISSUE_CASE, Design, Setting, law_log_losses, synthetic_table

CHINCHILLA = Path(__file__).parents[1] / "fixtures" / "chinchilla_svg_extracted.csv"


@pytest.fixture(scope="module")
def chinchilla() -> pd.DataFrame:
    data = pd.read_csv(CHINCHILLA).rename(columns={"Model Size": "N"})
    data["D"] = data["Training FLOP"] / (6 * data["N"])
    return data.sort_values("loss").iloc[:-5][["N", "D", "loss"]]


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla: pd.DataFrame):
    return fit(chinchilla, "chinchilla")  # the default: starts derived from the data


def test_golden_chinchilla_replicates_epoch_with_the_default_grid(chinchilla_fit) -> None:
    params = chinchilla_fit.params
    assert abs(params["alpha"] - 0.3473) < 0.002
    assert abs(params["beta"] - 0.3672) < 0.003
    assert abs(params["E"] - 1.8172) < 0.002
    assert abs(params["beta"] / (params["alpha"] + params["beta"]) - 0.5139) < 0.003
    assert abs(np.log(params["A"]) - np.log(477.8)) < 0.05
    assert abs(np.log(params["B"]) - np.log(2143)) < 0.1
    assert chinchilla_fit.objective <= 1.0183e-3 + 1e-9
    assert chinchilla_fit.converged and chinchilla_fit.ok, chinchilla_fit.failures


def test_hoffmanns_literal_grid_stays_available_by_name(chinchilla: pd.DataFrame, chinchilla_fit) -> None:
    hoffmann = fit(chinchilla, "chinchilla", grid="hoffmann")
    assert abs(hoffmann.objective - chinchilla_fit.objective) < 1e-12
    with pytest.raises(KeyError, match="known: data, hoffmann"):
        fit(chinchilla, "chinchilla", grid="paper")


def test_refined_starts_find_the_all_starts_optimum(chinchilla: pd.DataFrame, chinchilla_fit) -> None:
    """The vectorised pre-scoring of starts must not lose the optimum that running every start finds."""
    grid = {"alpha": [0, 0.5, 1.0], "beta": [0, 0.5, 1.0], "log_E": [-1, 0, 1], "log_A": [0, 10, 20],
            "log_B": [0, 10, 20]}
    everything = fit(chinchilla, "chinchilla", grid=grid, refine=None)
    assert everything.objective >= chinchilla_fit.objective - 1e-9
    assert abs(everything.params["alpha"] - chinchilla_fit.params["alpha"]) < 1e-3


def test_a_literal_grid_must_name_every_parameter(chinchilla: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"lacks \['log_A', 'log_B', 'log_E', 'beta'\]"):
        fit(chinchilla, "chinchilla", grid={"alpha": [0.3]})


@pytest.mark.slow
def test_bootstrap_intervals_agree_with_epoch(chinchilla_fit) -> None:
    intervals = chinchilla_fit.bootstrap(60, seed=0)
    # Epoch's 95% intervals (4,000 resamples): alpha (0.317, 0.373), beta (0.331, 0.415), E (1.769, 1.871)
    for name, (low, high) in {"alpha": (0.317, 0.373), "beta": (0.331, 0.415), "E": (1.769, 1.871)}.items():
        ours = intervals[name]
        assert not ours.degenerate and ours.contains(chinchilla_fit.params[name])
        assert abs(ours.low - low) < 0.35 * (high - low) and abs(ours.high - high) < 0.35 * (high - low)


def test_compute_optimal_uses_the_checked_fit(chinchilla_fit) -> None:
    optimum = chinchilla_fit.compute_optimal(5.76e23)
    assert abs(optimum["a"] + optimum["b"] - 1) < 1e-12
    assert np.isclose(6 * optimum["N_opt"] * optimum["D_opt"], 5.76e23)
    assert optimum["fit_ok"] is True and optimum["failures"] == []


def test_the_default_fit_recovers_issue_14s_case() -> None:
    """α 0.08, E 1.5, A 1.5, B 2.0, C 0.6, F 3e6; CH, RA, SIM each varied alone over 0.2-0.8, 2 runs per corpus,
    V 1e5-1e11 in 9 steps, 0.05% noise. The paper's grid returned α = 1.330 with a zero-width interval."""
    result = fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2")
    params = result.params
    assert result.ok, result.failures
    assert abs(params["alpha"] - 0.08) < 0.004 and abs(params["E"] - 1.5) < 0.01
    assert abs(params["A"] / params["C"] - 2.5) < 0.5 and abs(params["B"] / params["C"] - 3.33) < 0.7
    assert abs(np.log(params["F"] / 3e6)) < np.log(2)
    assert result.diagnostics["heldout_log_rmse"] < 2 * result.diagnostics["noise_log_rmse"]
    profile = result.profile(["alpha", "E"])
    assert profile["alpha"].contains(0.08) and profile["E"].contains(1.5)


def test_the_papers_grid_fails_loudly_on_issue_14s_case() -> None:
    result = fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2", grid="paper")
    assert not result.ok_fit
    assert any("held-out log-RMSE" in failure for failure in result.failures)
    assert result.diagnostics["heldout_log_rmse"] > 50 * result.diagnostics["noise_log_rmse"]
    intervals = result.bootstrap(20, seed=0)
    assert all(interval.degenerate for interval in intervals.values())
    low, high = intervals["alpha"]  # unpacking a degenerate interval gives no numbers to report
    assert np.isnan(low) and np.isnan(high) and str(intervals["alpha"]).startswith("degenerate")
    assert any("degenerate, not a CI" in failure for failure in result.failures)
    assert all(interval.degenerate for interval in result.profile().values())
    with pytest.raises(ValueError, match="failed"):
        result.bound_test("C")


def _synthetic(law: str, truth: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(24):
        attributes = {"CH": rng.uniform(0.3, 1), "RA": rng.uniform(0.3, 1), "SIM": rng.uniform(0.05, 0.5)}
        n = [1e5, 3e5, 1e6, 3e6][run % 4]
        for volume in (1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6):
            rows.append({RUN_COLUMN: run, "N": n, "V": volume, **attributes})
    table = pd.DataFrame(rows)
    table["loss"] = np.exp(law_log_losses(law, truth, table) + rng.normal(0, 0.001, len(table)))
    return table


@pytest.mark.slow
@pytest.mark.parametrize(
    ("law", "truth"),
    [
        ("ziya2", {"A": 0.6, "B": 0.9, "C": 0.4, "F": 5e3, "alpha": 0.3, "E": 1.0}),
        ("joint", {"K": 40.0, "alpha": 0.3, "A": 0.6, "B": 0.9, "C": 0.4, "F": 5e3, "beta": 0.3, "E": 1.0}),
    ],
)
def test_synthetic_parameters_fall_inside_the_intervals(law: str, truth: dict[str, float]) -> None:
    result = fit(_synthetic(law, truth, seed=1), law)  # default grid: no hand-set starts
    assert result.ok_fit, result.failures
    for method, intervals in (("bootstrap", result.bootstrap(seed=0)), ("profile", result.profile())):
        for name, value in truth.items():
            assert intervals[name].contains(value), f"{law} {method}: {name}={value} outside {intervals[name]}"


def test_non_finite_losses_name_the_rows() -> None:
    table = pd.DataFrame({"N": [1e6, 2e6, 3e6], "D": [1e9, 2e9, 3e9], "loss": [3.0, np.nan, 2.5]})
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        fit(table, "chinchilla")


def test_missing_columns_are_named() -> None:
    with pytest.raises(KeyError, match="SIM"):
        fit(pd.DataFrame({"V": [1.0], "CH": [1.0], "RA": [1.0], "loss": [2.0]}), "ziya2")


def test_constant_attribute_is_flagged() -> None:
    table = _synthetic("ziya2", {"A": 0.6, "B": 0.9, "C": 0.4, "F": 5e3, "alpha": 0.15, "E": 1.0}, seed=2)
    table["SIM"] = 0.3
    result = fit(table, "ziya2", refine=8)
    assert any("SIM is constant" in message for message in result.warnings)


def test_the_old_run_column_is_still_the_resampling_unit(caplog: pytest.LogCaptureFixture) -> None:
    table = synthetic_table(ISSUE_CASE, seed=0).rename(columns={RUN_COLUMN: "run"})
    with caplog.at_level(logging.WARNING):
        result = fit(table, "ziya2")
    assert RUN_COLUMN in result.table and "old name" in caplog.text
    assert result.diagnostics["heldout"].endswith("of runs")


LATE_VOLUMES = Setting("issue 14's law, V ≫ F", ISSUE_CASE.truth,
                       Design("one_at_a_time", 1e9, 1e11, 5, noise=5e-4, runs_per_corpus=1, levels=3))
WITH_BASE = replace(LATE_VOLUMES, design=replace(LATE_VOLUMES.design, base_runs=2))


def test_v_zero_rows_are_accepted_where_the_law_is_defined_there() -> None:
    table = synthetic_table(WITH_BASE, seed=0)
    for law in ("ziya2", "joint"):
        assert (prepare(table.assign(N=1e6), get_law(law))["V"] == 0).sum() == 8
    with pytest.raises(ValueError, match=r"V > 0"):
        prepare(table, get_law("power"))
    with pytest.raises(ValueError, match=r"rows \[1\] .*D > 0"):
        prepare(pd.DataFrame({"N": [1e6, 2e6], "D": [1e9, 0.0], "loss": [3.0, 2.9]}), get_law("chinchilla"))
    with pytest.raises(ValueError, match=r"rows \[0\] .*V ≥ 0"):
        prepare(table.assign(V=np.where(table.index == 0, -1.0, table["V"])), get_law("ziya2"))


@pytest.mark.slow
def test_v_zero_rows_pin_f() -> None:
    """Over V 1e9-1e11, q·V ≫ F = 3e6 and the curve cannot tell F from 0; the model before the corpus (V = 0, where
    the loss is F^−α + E) bounds it on both sides. Starts, checks (noise reference, held-out folds) and the
    residual bootstrap take the V = 0 rows like any other."""
    with_base = fit(synthetic_table(WITH_BASE, seed=0), "ziya2")
    assert with_base.ok_fit, with_base.fit_failures
    pinned = with_base.profile(["F"], calibration="chi2")["F"]
    assert pinned.contains(3e6) and np.isfinite(pinned.high) and pinned.low > 0, pinned
    loose = fit(synthetic_table(LATE_VOLUMES, seed=0), "ziya2").profile(["F"], calibration="chi2")["F"]
    assert loose.contains(3e6) and loose.low == 0, loose  # without it, F = 0 fits as well
    base_rows = (with_base.table["V"] == 0).to_numpy()
    assert (with_base.residual_resamples(50, seed=0)[:, base_rows].std(axis=0) > 0).all()  # redrawn like every row
