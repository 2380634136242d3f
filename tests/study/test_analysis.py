"""The study's fits use the library's defaults and checks; its multipliers are the library's; its verdict is
withheld where an interval is not a confidence interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ziya2lab.common.attributes import COLUMNS
from ziya2lab.scaling.multipliers import multiplier_intervals
from ziya2lab.scaling.recovery import Design, Setting, Truth, synthetic_table
from ziya2lab.study.analysis import StudyFit, fit_study, multipliers_with_intervals, ordering_verdict
from ziya2lab.study.config import FitConfig

TRUTH = {"A": 1.5, "B": 2.0, "C": 0.6, "F": 3e6, "alpha": 0.08, "E": 1.5}


def _results(seed: int = 0) -> pd.DataFrame:
    """A results table of one model: the clean base and one family per attribute, two runs per corpus."""
    design = Design("families", 1e5, 1e11, 7, noise=5e-4, levels=2)
    return synthetic_table(Setting("study", Truth(**TRUTH), design), seed).assign(model="m", N=1e5)


@pytest.fixture(scope="module")
def study_fits() -> dict[str, StudyFit]:
    return fit_study(_results(), FitConfig(bootstrap=30, refine=64, bootstrap_refine=1), seed=0)


@pytest.mark.slow
def test_the_study_fits_with_the_library_defaults_and_checks(study_fits: dict[str, StudyFit]) -> None:
    study_fit = study_fits["ziya2/m"]
    assert study_fit.result.ok, study_fit.result.failures
    for column, coefficient in (("CH", "A"), ("RA", "B"), ("SIM", "C")):
        estimate, low, high = study_fit.coefficient(column)  # coverage is measured by the recovery suite
        assert low < estimate < high and estimate == study_fit.result.params[coefficient]
    params = study_fit.result.params
    assert abs(params["alpha"] / TRUTH["alpha"] - 1) < 0.05 and abs(params["E"] / TRUTH["E"] - 1) < 0.01
    tests = study_fit.bound_tests()
    assert set(tests) == set(COLUMNS) and all(not test["bound_supported"] for test in tests.values())


@pytest.mark.slow
def test_the_study_multipliers_are_the_librarys(study_fits: dict[str, StudyFit]) -> None:
    study_fit = study_fits["ziya2/m"]
    assert multipliers_with_intervals(study_fit, _results()) == multiplier_intervals(study_fit.result)


def test_no_verdict_without_confidence_intervals() -> None:
    degenerate = {"CH": (1.0, np.nan, np.nan), "RA": (1.1, 0.9, 1.3), "SIM": (0.1, 0.05, 0.2)}
    verdict = ordering_verdict(degenerate)
    assert not verdict["holds"] and verdict["statement"].startswith("no verdict")
