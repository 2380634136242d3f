"""The fit figures draw whatever a fit holds: V = 0 rows, non-finite or degenerate bootstraps (then no band or
histogram, a note instead), never a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ziya2lab.scaling import fit
from ziya2lab.scaling.intervals import percentile_intervals
from ziya2lab.scaling.plots import plot_attribute_effects, plot_fit
from ziya2lab.scaling.recovery import ISSUE_CASE, Design, Setting, synthetic_table

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def issue_fit():
    result = fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2")
    result.bootstrap(12, seed=0)
    return result


def test_non_finite_bootstrap_samples_draw_a_note_not_a_crash(issue_fit, tmp_path: Path) -> None:
    """A refit that ran off to F = ∞ made matplotlib fail ("autodetected range of [nan, nan] is not finite")."""
    samples = issue_fit.bootstrap_samples.copy()
    samples.loc[:3, "F"] = np.inf
    samples.loc[:, "alpha"] = np.nan
    issue_fit.bootstrap_samples = samples
    issue_fit.bootstrap_intervals = percentile_intervals({name: column.to_numpy() for name, column in samples.items()},
                                                         0.95, issue_fit.law.reported_lower_bounds())
    assert issue_fit.bootstrap_intervals["F"].degenerate and issue_fit.bootstrap_intervals["alpha"].degenerate
    assert plot_fit(issue_fit, tmp_path / "fit.png").read_bytes()[:8] == PNG


def test_a_failed_fit_with_a_degenerate_bootstrap_is_drawn(tmp_path: Path) -> None:
    failed = fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2", grid="paper")
    failed.bootstrap(6, seed=0)
    assert failed.bootstrap_degenerate
    assert plot_fit(failed, tmp_path / "failed.png").read_bytes()[:8] == PNG


def test_v_zero_rows_are_drawn_at_the_left_edge(tmp_path: Path) -> None:
    setting = Setting("families and the base model", ISSUE_CASE.truth,
                      Design("families", 1e5, 1e11, 9, noise=5e-4, levels=2, base_runs=2))
    result = fit(synthetic_table(setting, seed=0), "ziya2", refine=8)
    assert (result.table["V"] == 0).sum() == 8
    result.bootstrap(8, seed=0)
    assert plot_fit(result, tmp_path / "zero.png").read_bytes()[:8] == PNG
    assert plot_attribute_effects(result, tmp_path / "fig7.png").read_bytes()[:8] == PNG
