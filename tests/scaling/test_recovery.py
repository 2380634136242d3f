"""A slice of the synthetic recovery suite (benchmarks/bench_fit_recovery.py runs all of it)."""

from __future__ import annotations

import numpy as np
import pytest

from ziya2lab.scaling.recovery import (
    HEADLINE,
    INTERVAL_KINDS,
    ISSUE_CASE,
    development_settings,
    heldout_setting,
    recover,
    signal_to_noise,
    summarise,
    synthetic_table,
)


def test_the_designs_have_the_shapes_they_promise() -> None:
    issue = synthetic_table(ISSUE_CASE, seed=0)
    assert len(issue) == 3 * 4 * 2 * 9 and issue["run_id"].nunique() == 24
    for column in ("CH", "RA", "SIM"):  # each attribute varied alone, the others at 0.5
        varied = issue[issue[column] != 0.5]
        assert (varied.drop(columns=column)[[c for c in ("CH", "RA", "SIM") if c != column]] == 0.5).all().all()
    confounded = synthetic_table(development_settings()[3], seed=0)
    assert (confounded.groupby("run_id")[["CH", "RA"]].nunique() == 1).all().all()  # CH, RA tied to the corpus
    assert confounded.groupby("run_id")["SIM"].nunique().eq(4).all()  # one SIM per test set
    assert signal_to_noise(ISSUE_CASE) > 100


def test_heldout_cases_span_issue_14s_ranges() -> None:
    cases = [heldout_setting(seed) for seed in range(2000, 2060)]
    volumes = [value for case in cases for value in (case.design.volume_min, case.design.volume_max)]
    assert min(volumes) >= 1e3 and max(volumes) <= 1e12
    assert {case.design.kind for case in cases} == {"one_at_a_time", "random", "confounded"}
    assert min(case.truth.alpha for case in cases) >= 0.03 and max(case.truth.alpha for case in cases) <= 0.6
    assert any(case.design.run_noise for case in cases) and not all(case.design.run_noise for case in cases)


@pytest.mark.slow
def test_a_slice_of_the_suite_recovers_and_covers() -> None:
    """Issue 14's case (3 datasets) and four draws from the development seeds of the held-out generator."""
    records = [recover(ISSUE_CASE, seed, resamples=40) for seed in range(3)]
    records += [recover(heldout_setting(seed), seed, resamples=40) for seed in range(1000, 1004)]
    summary = summarise(records[:3])["issue 14 case"]
    assert summary["datasets"] == 3 and summary["flagged"] == 0
    assert summary["recovered"]["alpha"] == 1 and summary["recovered"]["E"] == 1
    assert np.mean(list(summary["profile_coverage"].values())) >= 5 / 6
    for record in records:
        assert set(record["outcomes"]) == set(INTERVAL_KINDS)
        for outcomes in record["outcomes"].values():
            assert set(outcomes) == {"A", "B", "C", "F", "alpha", "E"}
            assert set(outcomes.values()) <= {"covered", "missed", "degenerate"}
        if not record["profile_usable"]:
            assert set(record["outcomes"][HEADLINE].values()) == {"degenerate"}
        if not record["ok_fit"]:
            assert set(record["outcomes"]["residual bootstrap"].values()) == {"degenerate"}
    reported = [outcome for record in records for outcome in record["outcomes"][HEADLINE].values()
                if outcome != "degenerate"]
    assert reported.count("covered") >= 0.85 * len(reported)
