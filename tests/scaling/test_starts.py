"""Start grids derived from the data: finite for every law, below the smallest loss, and following the data's
scale, so one default works from 1e3 to 1e12 tokens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.scaling import fit
from ziya2lab.scaling.fitting import lower_bounds
from ziya2lab.scaling.laws import LAWS, get_law
from ziya2lab.scaling.recovery import ISSUE_CASE, synthetic_table
from ziya2lab.scaling.starts import floors


def _table() -> pd.DataFrame:
    """Issue 14's table, with a model size per run and D = V, so every law has its columns."""
    table = synthetic_table(ISSUE_CASE, seed=0)
    return table.assign(N=np.where(table.index % 2, 1e6, 1e8), D=table["V"])


@pytest.mark.parametrize("name", sorted(LAWS))
def test_every_law_derives_finite_starts_from_the_data(name: str) -> None:
    law = get_law(name)
    table = _table()
    starts = law.starts({column: table[column].to_numpy() for column in law.columns}, table["loss"].to_numpy())
    assert starts.shape[1] == len(law.params) and len(starts) >= 20
    assert np.isfinite(starts).all()
    assert (starts >= lower_bounds(law) - 1e-12).all()
    floor = np.exp(starts[:, law.params.index("log_E")])
    assert (floor < table["loss"].min()).all()


def test_floors_are_fractions_of_the_smallest_loss() -> None:
    assert floors(np.array([3.0, 2.0, 5.0])).max() < 2.0 and floors(np.array([3.0, 2.0])).min() > 0


@pytest.mark.parametrize("volume_min", [1e3, 1e6, 1e9])
def test_the_default_follows_the_scale_of_the_volumes(volume_min: float) -> None:
    volume = np.geomspace(volume_min, volume_min * 1e3, 12)
    truth = {"B": 30.0 * volume_min**0.4, "beta": 0.4, "E": 1.7}  # the same loss curve at every scale
    loss = (truth["E"] + truth["B"] * volume ** -truth["beta"]) * np.exp(
        np.random.default_rng(0).normal(0, 1e-3, len(volume)))
    result = fit(pd.DataFrame({"V": volume, "loss": loss}), "power")
    assert result.ok, result.failures
    assert abs(result.params["beta"] - 0.4) < 0.03 and abs(result.params["E"] - 1.7) < 0.03


def test_unknown_grid_names_list_the_known_ones() -> None:
    law = get_law("ziya2")
    table = _table()
    with pytest.raises(KeyError, match="known: data, paper"):
        law.starts({column: table[column].to_numpy() for column in law.columns}, table["loss"].to_numpy(), "hoffmann")
