"""The study's fits and what they say: Ziya2's law per model size, the joint law over all runs, coefficients with
bootstrap intervals, effective-data multipliers, and whether the paper's ordering RA ≈ CH ≫ SIM holds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ziya2lab.scaling import FitResult, fit
from ziya2lab.scaling.laws import ATTRIBUTES
from ziya2lab.study.config import FitConfig

COEFFICIENT_OF = {"CH": "A", "RA": "B", "SIM": "C"}
JOINT = "joint"


@dataclass
class StudyFit:
    name: str  # "ziya2/<model>" or "joint"
    result: FitResult
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def coefficient(self, attribute: str) -> tuple[float, float, float]:
        name = COEFFICIENT_OF[attribute]
        low, high = self.intervals.get(name, (np.nan, np.nan))
        return self.result.params[name], low, high


def data_scaled_grid(law: str, table: pd.DataFrame) -> dict[str, list[float]]:
    """Starts on the scale of this study's data rather than the paper's (13B continual pre-training, V ~ 10¹²).

    With no coefficient in front of D_eff^−α, a loss that falls by nats over the grid needs D_eff ≲ 1, i.e.
    A·CH + B·RA + C·SIM of order 1/V; the paper's grid (A, B, C ∈ [0, 2], F ~ 10¹²) starts every L-BFGS run on a
    plateau where the gradient vanishes, so it returns its starting point.
    """
    per_token = [0.0, *(factor / float(table["V"].median()) for factor in (0.01, 0.1, 1.0, 10.0))]
    grid: dict[str, list[float]] = {"A": per_token, "B": per_token, "C": per_token, "log_F": [-6.0, -3.0, 0.0],
                                    "log_E": [0.0, 0.67, 1.33, 2.0]}
    if law == JOINT:
        log_n = float(np.log(table["N"].median()))
        coarse = [0.0, *per_token[2:4]]
        grid |= {"A": coarse, "B": coarse, "C": coarse, "log_K": [0.0, 0.5 * log_n, log_n], "alpha": [0.0, 0.5, 1.0],
                 "beta": [0.1, 0.5, 1.0]}
    else:
        grid["alpha"] = [0.1, 0.5, 1.0, 2.0]
    return grid


def fit_table(table: pd.DataFrame, law: str, config: FitConfig, seed: int) -> StudyFit:
    result = fit(table.rename(columns={"run_id": "run"}), law=law, grid=data_scaled_grid(law, table),
                 refine=config.refine)
    intervals = result.bootstrap(config.bootstrap, seed=seed, refine=config.bootstrap_refine) if config.bootstrap else {}
    return StudyFit(law, result, intervals)


def fit_study(table: pd.DataFrame, config: FitConfig, seed: int) -> dict[str, StudyFit]:
    """Ziya2's law per model size (the paper's setting) and the joint law over every run."""
    rated = table.dropna(subset=list(ATTRIBUTES))
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


def base_quality_terms(table: pd.DataFrame) -> dict[str, float]:
    """The clean base corpus's mean CH, RA and SIM (over test sets): the reference for the multipliers."""
    base = table[table["family"] == "base"]
    reference = base if not base.empty else table
    return {attribute: float(reference[attribute].mean()) for attribute in ATTRIBUTES}


def attribute_spans(table: pd.DataFrame) -> dict[str, float]:
    """How far each attribute moved within its own family (best − worst corpus, measured)."""
    spans = {}
    for attribute in ATTRIBUTES:
        family = table[table["family"].isin([attribute, "base"])]
        spans[attribute] = float(family[attribute].max() - family[attribute].min()) if not family.empty else 0.0
    return spans


def effective_data_multipliers(params: dict[str, float], base: dict[str, float],
                               spans: dict[str, float]) -> dict[str, float]:
    """Per attribute: D_eff per token after moving it across its measured span, over D_eff per token at the base.

    With D_eff = (A·CH + B·RA + C·SIM)·V + F, the per-token quality is q = A·CH + B·RA + C·SIM, so moving
    attribute X by Δ multiplies the effective data of every token by (q + coef_X·Δ) / q.
    """
    quality = sum(params[COEFFICIENT_OF[attribute]] * base[attribute] for attribute in ATTRIBUTES)
    if quality <= 0:
        return dict.fromkeys(ATTRIBUTES, float("nan"))
    return {
        attribute: (quality + params[COEFFICIENT_OF[attribute]] * spans[attribute]) / quality
        for attribute in ATTRIBUTES
    }


def multipliers_with_intervals(study_fit: StudyFit, table: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    base, spans = base_quality_terms(table), attribute_spans(table)
    estimate = effective_data_multipliers(study_fit.result.params, base, spans)
    samples = study_fit.result.bootstrap_samples
    if samples is None or samples.empty:
        return {attribute: (estimate[attribute], np.nan, np.nan) for attribute in ATTRIBUTES}
    sampled = pd.DataFrame([effective_data_multipliers(row.to_dict(), base, spans) for _, row in samples.iterrows()])
    return {
        attribute: (estimate[attribute], float(np.nanpercentile(sampled[attribute], 2.5)),
                    float(np.nanpercentile(sampled[attribute], 97.5)))
        for attribute in ATTRIBUTES
    }


def ordering_verdict(coefficients: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    """Does RA ≈ CH ≫ SIM hold? "≈": the CH and RA intervals overlap; "≫": both lie wholly above SIM's."""
    ch, ra, sim = (coefficients[attribute] for attribute in ATTRIBUTES)
    overlap = not (ch[1] > ra[2] or ra[1] > ch[2])
    above = ch[1] > sim[2] and ra[1] > sim[2]
    ratio = min(ch[0], ra[0]) / sim[0] if sim[0] > 0 else float("inf")
    ranked = sorted(ATTRIBUTES, key=lambda attribute: -coefficients[attribute][0])
    holds = overlap and above
    if holds:
        strength = f"it holds: min(A, B) is {ratio:.3g}× C and the intervals separate"
    elif ranked[-1] == "SIM" and not above:
        strength = ("the point estimates rank SIM last, but the intervals overlap SIM's, so the data cannot "
                    "tell them apart")
    else:
        null = [attribute for attribute in ATTRIBUTES if coefficients[attribute][2] <= 0]
        ranked_text = " > ".join(attribute for attribute in ranked if attribute not in null)
        strength = f"it does not hold: the estimates rank {ranked_text}" + (
            f", and {' and '.join(null)} {'shows' if len(null) == 1 else 'show'} no measurable effect "
            "(coefficient and interval at 0)" if null else "")
    return {"holds": holds, "ch_ra_overlap": overlap, "both_above_sim": above, "ratio_min_ab_over_c": ratio,
            "ranking": ranked, "statement": strength}
