"""The study's fits and what they say: Ziya2's law per model size, the joint law over all runs, coefficients with
bootstrap intervals, effective-data multipliers, and whether the paper's ordering RA ≈ CH ≫ SIM holds here.

Every fit uses the library's defaults (start grid derived from the data) and carries the library's checks: a failed
fit or a degenerate interval is in ``StudyFit.result.failures`` and the report prints it. The multipliers and the
Fig. 7 view are the library's (scaling/multipliers.py, which documents their definition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ziya2lab.common.attributes import BY_COLUMN, COLUMNS
from ziya2lab.scaling import FitResult, fit
from ziya2lab.scaling.intervals import Interval
from ziya2lab.scaling.multipliers import attribute_reference, multiplier_intervals
from ziya2lab.study.config import FitConfig

JOINT = "joint"


@dataclass
class StudyFit:
    name: str  # "ziya2/<model>" or "joint"
    result: FitResult
    intervals: dict[str, Interval] = field(default_factory=dict)  # bootstrap; degenerate ones have NaN bounds
    profile: dict[str, Interval] = field(default_factory=dict)  # profile likelihood (better calibrated, SCALING.md)

    def coefficient(self, column: str) -> tuple[float, float, float]:
        """(estimate, low, high) of the coefficient of attribute ``column``; NaN bounds when not a CI."""
        name = BY_COLUMN[column].coefficient
        low, high = self.intervals.get(name, (np.nan, np.nan))
        return self.result.params[name], low, high

    def bound_tests(self) -> dict[str, dict[str, Any]]:
        """Per attribute coefficient, whether zero (no effect) is supported; {} for a failed fit."""
        if not self.result.ok_fit:
            return {}
        return {column: self.result.bound_test(BY_COLUMN[column].coefficient).to_dict() for column in COLUMNS}


def fit_table(table: pd.DataFrame, law: str, config: FitConfig, seed: int) -> StudyFit:
    result = fit(table, law=law, refine=config.refine)
    intervals = result.bootstrap(config.bootstrap, seed=seed, refine=config.bootstrap_refine) if config.bootstrap else {}
    return StudyFit(law, result, intervals, result.profile())


def fit_study(table: pd.DataFrame, config: FitConfig, seed: int) -> dict[str, StudyFit]:
    """Ziya2's law per model size (the paper's setting) and the joint law over every run."""
    rated = table.dropna(subset=list(COLUMNS))
    if rated.empty:
        raise ValueError("no rows with measured CH, RA and SIM: the runs' corpora carry no attributes.json")
    fits = {}
    for model, rows in sorted(rated.groupby("model"), key=lambda item: item[1]["N"].iloc[0]):
        study_fit = fit_table(rows, "ziya2", config, seed)
        study_fit.name = f"ziya2/{model}"
        fits[study_fit.name] = study_fit
    if rated["N"].nunique() > 1:
        fits[JOINT] = fit_table(rated, JOINT, config, seed)
    return fits


def multipliers_with_intervals(study_fit: StudyFit, table: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """The library's multipliers (scaling/multipliers.py) of ``study_fit``, referenced to ``table``'s clean base."""
    return multiplier_intervals(study_fit.result, attribute_reference(table))


def ordering_verdict(coefficients: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    """Does RA ≈ CH ≫ SIM hold? "≈": the CH and RA intervals overlap; "≫": both lie wholly above SIM's.
    No verdict when an interval is missing or degenerate (NaN bounds)."""
    if not all(np.isfinite(coefficients[column][1:]).all() for column in COLUMNS):
        return {"holds": False, "ranking": sorted(COLUMNS, key=lambda column: -coefficients[column][0]),
                "statement": "no verdict: a coefficient has no confidence interval (no bootstrap, or a degenerate "
                             "one; see the fit's failures)"}
    ch, ra, sim = (coefficients[column] for column in COLUMNS)
    overlap = not (ch[1] > ra[2] or ra[1] > ch[2])
    above = ch[1] > sim[2] and ra[1] > sim[2]
    ratio = min(ch[0], ra[0]) / sim[0] if sim[0] > 0 else float("inf")
    ranked = sorted(COLUMNS, key=lambda column: -coefficients[column][0])
    holds = overlap and above
    if holds:
        strength = f"it holds: min(A, B) is {ratio:.3g}× C and the intervals separate"
    elif ranked[-1] == "SIM" and not above:
        strength = ("the point estimates rank SIM last, but the intervals overlap SIM's, so the data cannot "
                    "tell them apart")
    else:
        null = [column for column in COLUMNS if coefficients[column][2] <= 0]
        ranked_text = " > ".join(attribute for attribute in ranked if attribute not in null)
        strength = f"it does not hold: the estimates rank {ranked_text}" + (
            f", and {' and '.join(null)} {'shows' if len(null) == 1 else 'show'} no measurable effect "
            "(coefficient and interval at 0)" if null else "")
    return {"holds": holds, "ch_ra_overlap": overlap, "both_above_sim": above, "ratio_min_ab_over_c": ratio,
            "ranking": ranked, "statement": strength}
