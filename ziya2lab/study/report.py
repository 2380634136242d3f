"""``report.md`` and its figures, written only from the results table, the corpora's ratings and the fits."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ziya2lab.common.atomic import atomic_write_text
from ziya2lab.scaling.laws import ATTRIBUTES
from ziya2lab.study import figures
from ziya2lab.study.analysis import (
    JOINT,
    StudyFit,
    base_quality_terms,
    multipliers_with_intervals,
    ordering_verdict,
)
from ziya2lab.study.runner import RunOutcome


def _interval(value: tuple[float, float, float]) -> str:
    estimate, low, high = value
    return f"{estimate:.4g} [{low:.4g}, {high:.4g}]"


def _params_table(fits: Mapping[str, StudyFit]) -> pd.DataFrame:
    rows = []
    for name, study_fit in fits.items():
        for parameter, value in study_fit.result.params.items():
            low, high = study_fit.intervals.get(parameter, (float("nan"), float("nan")))
            rows.append({"fit": name, "parameter": parameter, "estimate": value, "ci95_low": low, "ci95_high": high})
    return pd.DataFrame(rows)


def fit_summary(fits: Mapping[str, StudyFit], table: pd.DataFrame) -> dict[str, Any]:
    """Everything the report states about the fits, as data (also saved as fits.json)."""
    summary: dict[str, Any] = {}
    for name, study_fit in fits.items():
        coefficients = {attribute: study_fit.coefficient(attribute) for attribute in ATTRIBUTES}
        rows = table if name == JOINT else table[table["model"] == name.split("/", 1)[1]]
        summary[name] = {
            **study_fit.result.to_dict(),
            "intervals": study_fit.intervals,
            "coefficients": coefficients,
            "multipliers": multipliers_with_intervals(study_fit, rows),
            "ordering": ordering_verdict(coefficients) if study_fit.intervals else None,
        }
    return summary


def write_report(
    out_dir: Path,
    table: pd.DataFrame,
    corpora: pd.DataFrame,
    test_sets: Mapping[str, Path],
    fits: Mapping[str, StudyFit],
    summary: Mapping[str, Any],
    outcomes: Sequence[RunOutcome],
) -> Path:
    figure_dir = out_dir / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    images = {"loss_vs_volume": figures.loss_versus_volume(table, figure_dir / "loss_vs_volume.png")}
    coefficients = {name: summary[name]["coefficients"] for name in fits}
    images["coefficients"] = figures.coefficients_with_intervals(coefficients, figure_dir / "coefficients.png")
    base = base_quality_terms(table)
    for name, study_fit in fits.items():
        slug = name.replace("/", "_")
        images[f"fig7_{slug}"] = figures.fig7_view(study_fit.result, table, base, f"Fig. 7 view: {name}",
                                                   figure_dir / f"fig7_{slug}.png")
        images[f"fit_{slug}"] = figures.fit_diagnostics(study_fit.result, f"fit quality: {name}",
                                                        figure_dir / f"fit_{slug}.png")
    headline = JOINT if JOINT in fits else next(iter(fits))
    multipliers = {f"{attribute} ({headline})": value for attribute, value in summary[headline]["multipliers"].items()}
    images["multipliers"] = figures.multipliers_with_intervals(multipliers, figure_dir / "multipliers.png")

    def image(key: str) -> str:
        return f"![{key}]({images[key].relative_to(out_dir)})"

    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    verdict = summary[headline]["ordering"]
    coefficient_rows = pd.DataFrame(
        [{"fit": name, **{f"{letter} ({attribute})": _interval(summary[name]["coefficients"][attribute])
                          for attribute, letter in zip(ATTRIBUTES, "ABC", strict=True)}} for name in fits]
    )
    multiplier_rows = pd.DataFrame(
        [{"fit": name, **{attribute: _interval(value) for attribute, value in summary[name]["multipliers"].items()}}
         for name in fits]
    )
    runs = table.groupby("run_id").agg(model=("model", "first"), N=("N", "first"), corpus=("corpus", "first"),
                                       wall_time_s=("wall_time", "first"))
    lines = [
        f"# Data-centric scaling study: {out_dir.name}",
        "",
        f"Generated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC from {runs.shape[0]} runs "
        f"({len(table)} rows of `results.parquet`). Every number and figure below is computed from "
        "`results.parquet`, the corpora's `attributes.json` and `fits.json`; none is typed by hand.",
        "",
        "## Corpora (measured attributes)",
        "",
        corpora.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Test sets (held-out real text, never in a training corpus)",
        "",
        pd.DataFrame([{"test set": name, "file": str(path)} for name, path in test_sets.items()]).to_markdown(
            index=False),
        "",
        "## Loss against data volume, per attribute level",
        "",
        image("loss_vs_volume"),
        "",
        "## The paper's Fig. 7 view",
        "",
        *(image(f"fig7_{name.replace('/', '_')}") for name in fits),
        "",
        "## Fitted attribute coefficients (95% bootstrap intervals over runs)",
        "",
        coefficient_rows.to_markdown(index=False),
        "",
        image("coefficients"),
        "",
        "All parameters:",
        "",
        _params_table(fits).to_markdown(index=False, floatfmt=".5g"),
        "",
        "## Effective-data multipliers",
        "",
        "Moving one attribute across the span this study measured for it (worst to best corpus of its family), with "
        "the others at the clean base, multiplies the effective data per token D_eff/V by:",
        "",
        multiplier_rows.to_markdown(index=False),
        "",
        image("multipliers"),
        "",
        "## Does the paper's ordering (RA ≈ CH ≫ SIM) hold here?",
        "",
        f"Judged on the `{headline}` fit: {verdict['statement'] if verdict else 'no bootstrap, no verdict'}.",
        "",
        "## Fit quality",
        "",
        *(image(f"fit_{name.replace('/', '_')}") for name in fits),
        "",
        *(f"- {name}: {message}" for name in fits for message in summary[name]["warnings"]),
        "",
        "## Runs",
        "",
        runs.reset_index().to_markdown(index=False, floatfmt=".4g"),
        "",
        f"Failed runs: {len(failed)}" + "".join(f"\n- {outcome.run_dir}" for outcome in failed),
        "",
    ]
    report = out_dir / "report.md"
    atomic_write_text(report, "\n".join(lines))
    return report
