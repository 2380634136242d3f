"""Intervals that cannot be mistaken for what they are not, the profile likelihood, and the bound test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ziya2lab.scaling import Interval, fit
from ziya2lab.scaling.intervals import PERCENTILE, bootstrap_degeneracy, percentile_intervals, robust_scale
from ziya2lab.scaling.recovery import ISSUE_CASE, Setting, development_settings, synthetic_table


def test_a_degenerate_interval_gives_no_numbers() -> None:
    interval = Interval.degenerate_because("every resample at 1.33", PERCENTILE, 0.95)
    low, high = interval
    assert np.isnan(low) and np.isnan(high)
    assert interval.degenerate and not interval.contains(1.33)
    assert str(interval) == "degenerate (every resample at 1.33)"
    assert interval.to_dict()["degenerate"] is True


def test_zero_width_and_stuck_bootstraps_are_degenerate() -> None:
    samples = {"alpha": np.full(50, 1.33), "C": np.zeros(50), "E": np.linspace(1.4, 1.6, 50)}
    found = percentile_intervals(samples, 0.95, {"C": 0.0})
    assert found["alpha"].degenerate and "at 1.33" in found["alpha"].reason
    assert found["C"].degenerate and "at its bound 0" in found["C"].reason
    assert not found["E"].degenerate and found["E"].low < 1.41 and found["E"].high > 1.59
    reason = bootstrap_degeneracy(np.array([True] * 40 + [False] * 10), fit_failed=False)
    assert "40 of 50 resamples never left their start" in reason
    assert all(interval.degenerate for interval in percentile_intervals(samples, 0.95, {}, reason).values())


def test_the_robust_scale_is_the_inverse_variance_for_gaussian_residuals() -> None:
    residuals = np.random.default_rng(0).normal(0, 1e-4, 2000)  # all well within δ = 1e-3
    assert robust_scale(residuals, 1e-3, 6) == pytest.approx(1e8, rel=0.1)
    wide = np.random.default_rng(0).normal(0, 1e-2, 2000)  # δ ≪ σ: the least-absolute-deviations limit
    assert robust_scale(wide, 1e-3, 6) == pytest.approx(2 * 1e-3 / np.sqrt(2 * np.pi) / 1e-2 / 1e-6, rel=0.2)


@pytest.fixture(scope="module")
def issue_fit():
    return fit(synthetic_table(ISSUE_CASE, seed=0), "ziya2")


def test_profile_intervals_hold_the_truth_and_match_the_bootstrap_scale(issue_fit) -> None:
    profile = issue_fit.profile()
    bootstrap = issue_fit.bootstrap(60, seed=0)
    for name, value in {"A": 1.5, "B": 2.0, "C": 0.6, "F": 3e6, "alpha": 0.08, "E": 1.5}.items():
        assert profile[name].contains(value), (name, profile[name])
        width = profile[name].high - profile[name].low
        assert 0.3 < width / (bootstrap[name].high - bootstrap[name].low) < 3, name


def test_the_bound_test_tells_a_real_coefficient_from_none() -> None:
    real = fit(synthetic_table(ISSUE_CASE, seed=1), "ziya2").bound_test("C")
    assert real.p_value < 1e-3 and not real.bound_supported
    without_sim = Setting("no SIM effect", replace(ISSUE_CASE.truth, C=0.0), ISSUE_CASE.design)
    none = fit(synthetic_table(without_sim, seed=1), "ziya2")
    test = none.bound_test("C")
    assert test.bound_supported and test.p_value > 0.05, test
    assert none.profile(["C"])["C"].low == 0.0  # the profile interval reaches the bound


def test_a_profile_is_walked_to_its_outermost_crossing() -> None:
    """The paper-like confounded design (development seed 9): B's profile is flat from 1 to 50 (S < 0.4) and rises
    only near its bound 0. A search that evaluated the profile from the optimum alone, a few steps at a time, went
    from B = 3.97 straight to the bound, interpolated, and reported [3.36, 287], excluding the truth 1.98."""
    result = fit(synthetic_table(development_settings()[3], seed=9), "ziya2")
    interval = result.profile(["B"], calibration="chi2")["B"]
    assert interval.contains(1.98) and interval.low < 0.5, interval
