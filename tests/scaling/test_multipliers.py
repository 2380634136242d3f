"""One definition of the effective-data multiplier (clean base, span within the family) and of the Fig. 7 view,
from one checked fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ziya2lab.scaling import fit
from ziya2lab.scaling.multipliers import attribute_reference, multiplier_intervals, multipliers
from ziya2lab.scaling.plots import plot_attribute_effects, plot_fit
from ziya2lab.scaling.recovery import BASE_ATTRIBUTES, Design, Setting, Truth, synthetic_table

TRUTH = {"A": 1.5, "B": 2.0, "C": 0.6, "F": 3e6, "alpha": 0.08, "E": 1.5}
FAMILIES = Setting("families", Truth(**TRUTH), Design("families", 1e5, 1e11, 9, noise=5e-4, levels=2))


def study_like_table(seed: int = 0) -> pd.DataFrame:
    """A clean base corpus and one family per attribute that degrades it alone (to 0.2 and 0.5), two runs each."""
    return synthetic_table(FAMILIES, seed)


def test_the_multiplier_is_measured_from_the_clean_base_across_the_family() -> None:
    reference = attribute_reference(study_like_table())
    assert reference.base == pytest.approx(BASE_ATTRIBUTES)
    assert reference.spans == pytest.approx({"CH": 0.7, "RA": 0.6, "SIM": 0.3})
    quality = 1.5 * 0.9 + 2.0 * 0.8 + 0.6 * 0.5
    expected = {"CH": (quality + 1.5 * 0.7) / quality, "RA": (quality + 2.0 * 0.6) / quality,
                "SIM": (quality + 0.6 * 0.3) / quality}
    assert multipliers(TRUTH, reference) == pytest.approx(expected)


def test_a_table_without_a_clean_base_gets_no_multiplier() -> None:
    table = study_like_table()
    with pytest.raises(ValueError, match="'family' column"):
        attribute_reference(table.drop(columns="family"))
    with pytest.raises(ValueError, match="no row has family == 'base'"):
        attribute_reference(table[table["family"] != "base"])


@pytest.fixture(scope="module")
def checked_fit():
    result = fit(study_like_table(), "ziya2")
    result.bootstrap(30, seed=0)
    return result


def test_multipliers_come_with_intervals_from_the_same_checked_fit(checked_fit) -> None:
    assert checked_fit.ok, checked_fit.failures
    truth = multipliers(TRUTH, attribute_reference(checked_fit.table))
    for column, (estimate, low, high) in multiplier_intervals(checked_fit).items():
        assert low <= estimate <= high and abs(estimate / truth[column] - 1) < 0.1, column


def test_a_failed_fit_gives_no_multiplier() -> None:
    failed = fit(study_like_table(), "ziya2", grid="paper")
    assert not failed.ok_fit
    assert all(np.isnan(value).all() for value in multiplier_intervals(failed).values())


def test_the_fig7_view_and_the_residual_plot_are_drawn(checked_fit, tmp_path: Path) -> None:
    for path in (plot_attribute_effects(checked_fit, tmp_path / "fig7.png"), plot_fit(checked_fit, tmp_path / "f.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
