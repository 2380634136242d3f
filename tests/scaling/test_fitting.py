"""Scaling-law fits: the golden Chinchilla replication on published data, and recovery of known parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ziya2lab.scaling import fit
from ziya2lab.scaling.laws import get_law

CHINCHILLA = Path(__file__).parents[1] / "fixtures" / "chinchilla_svg_extracted.csv"


@pytest.fixture(scope="module")
def chinchilla() -> pd.DataFrame:
    data = pd.read_csv(CHINCHILLA).rename(columns={"Model Size": "N"})
    data["D"] = data["Training FLOP"] / (6 * data["N"])
    return data.sort_values("loss").iloc[:-5][["N", "D", "loss"]]


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla: pd.DataFrame):
    return fit(chinchilla, "chinchilla")


def test_golden_chinchilla_replicates_epoch(chinchilla_fit) -> None:
    params = chinchilla_fit.params
    assert abs(params["alpha"] - 0.3473) < 0.002
    assert abs(params["beta"] - 0.3672) < 0.003
    assert abs(params["E"] - 1.8172) < 0.002
    assert abs(np.log(params["A"]) - np.log(477.8)) < 0.05
    assert abs(np.log(params["B"]) - np.log(2143)) < 0.1
    assert chinchilla_fit.converged


def test_refined_starts_find_the_all_starts_optimum(chinchilla: pd.DataFrame, chinchilla_fit) -> None:
    """The vectorised pre-scoring of starts must not lose the optimum that running every start finds."""
    grid = {"alpha": [0, 0.5, 1.0], "beta": [0, 0.5, 1.0], "log_E": [-1, 0, 1], "log_A": [0, 10, 20],
            "log_B": [0, 10, 20]}
    everything = fit(chinchilla, "chinchilla", grid=grid, refine=None)
    assert everything.objective >= chinchilla_fit.objective - 1e-9
    assert abs(everything.params["alpha"] - chinchilla_fit.params["alpha"]) < 1e-3


@pytest.mark.slow
def test_bootstrap_intervals_agree_with_epoch(chinchilla_fit) -> None:
    intervals = chinchilla_fit.bootstrap(60, seed=0)
    # Epoch's 95% intervals (4,000 resamples): alpha (0.317, 0.373), beta (0.331, 0.415), E (1.769, 1.871)
    for name, (low, high) in {"alpha": (0.317, 0.373), "beta": (0.331, 0.415), "E": (1.769, 1.871)}.items():
        ours = intervals[name]
        assert ours[0] < chinchilla_fit.params[name] < ours[1]
        assert abs(ours[0] - low) < 0.35 * (high - low) and abs(ours[1] - high) < 0.35 * (high - low)


def test_compute_optimal_splits_compute_by_the_exponents(chinchilla_fit) -> None:
    optimum = get_law("chinchilla").compute_optimal(chinchilla_fit.params, 5.76e23)
    assert abs(optimum["a"] + optimum["b"] - 1) < 1e-12
    assert np.isclose(6 * optimum["N_opt"] * optimum["D_opt"], 5.76e23)


def _synthetic(law: str, truth: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(24):
        attributes = {"CH": rng.uniform(0.3, 1), "RA": rng.uniform(0.3, 1), "SIM": rng.uniform(0.05, 0.5)}
        n = [1e5, 3e5, 1e6, 3e6][run % 4]
        for volume in (1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6):
            rows.append({"run": run, "N": n, "V": volume, **attributes})
    table = pd.DataFrame(rows)
    model = get_law(law)
    theta = np.array([np.log(truth[name.removeprefix("log_")]) if name in model.log_params else truth[name]
                      for name in model.params])
    import torch

    data = {column: torch.tensor(table[column].to_numpy(dtype=float)) for column in model.columns}
    clean = model.log_predict(torch.tensor(theta), data).exp().numpy()
    table["loss"] = clean * np.exp(rng.normal(0, 0.001, len(table)))
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
    table = _synthetic(law, truth, seed=1)
    grid = {"log_F": [6.0, 8.5, 11.0]} | ({"log_K": [0.0, 3.0, 6.0]} if law == "joint" else {})
    result = fit(table, law, grid=grid, refine=16)
    intervals = result.bootstrap(40, seed=0, refine=2)
    for name, value in truth.items():
        low, high = intervals[name]
        assert low <= value <= high, f"{law}: {name}={value} outside [{low}, {high}]"


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
    result = fit(table, "ziya2", grid={"log_F": [6.0, 8.5, 11.0]}, refine=8)
    assert any("SIM is constant" in message for message in result.warnings)
