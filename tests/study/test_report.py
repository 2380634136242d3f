"""``report.md`` from a results table and its fits: every section, the attribute names from the one vocabulary, and
one parameter table shared with the wandb summary run."""

from __future__ import annotations

import numpy as np
import pytest

from ziya2lab.common.attributes import ATTRIBUTES, COLUMNS, RUN_COLUMN
from ziya2lab.scaling.recovery import development_settings, synthetic_table
from ziya2lab.study.analysis import fit_study
from ziya2lab.study.conclusions import bound_findings
from ziya2lab.study.config import FitConfig
from ziya2lab.study.report import fit_summary, parameter_table, write_report


def _study_table():
    """A table drawn from Ziya2's law, one attribute moved per family, shaped like collect's."""
    table = synthetic_table(development_settings()[1], seed=0)  # one attribute at a time, the others at 0.5
    moved, level = [], []
    for _, row in table.iterrows():
        family = next((column for column in COLUMNS if row[column] != 0.5), "base")
        moved.append(family)
        level.append(row[family] if family != "base" else np.nan)
    return table.assign(model="llama_tiny", N=1e6, corpus=table[RUN_COLUMN], family=moved, level=level,
                        wall_time=1.0, run_dir="runs/x", test_set=table["test_set"].astype(str))


@pytest.mark.slow
def test_report_has_every_section_and_one_parameter_table(tmp_path):
    table = _study_table()
    fits = fit_study(table, FitConfig(bootstrap=4, refine=2, bootstrap_refine=0), seed=0)
    summary = fit_summary(fits, table)
    corpora = table.groupby("corpus")[["CH", "RA", "SIM"]].first().reset_index()

    # The fit sections are this test's subject; the study's own sections (baselines, seed noise, controls, sizes,
    # compute) need a real study and are checked end to end by tests/study/test_study.py.
    conclusions = {"baselines": {"train_tokens": 0, "trained_on": []}, "learned": {}, "noise": None,
                   "monotone": None, "why": "a synthetic table without seeds", "sizes": [], "heldout": {},
                   "bounds": bound_findings(fits),
                   "budget": {"runs": [], "total_flops": 0.0, "peak_flops": 1e9, "peak_threads": 1,
                              "seconds_at_peak": 0.0, "train_wall_time_s": 0.0}}
    report = write_report(tmp_path, table, corpora, {"t": tmp_path / "t.jsonl"}, fits, summary, [], conclusions)

    text = report.read_text()
    for heading in ("## Corpora", "## Fitted attribute coefficients", "## Effective-data multipliers",
                    "## Does the paper's ordering", "## Fit quality", "## Runs", "Failed runs: 0",
                    "## Parameters at a bound", "Not measured: a synthetic table without seeds"):
        assert heading in text
    for attribute in ATTRIBUTES:  # coefficient columns named from the vocabulary: "A (CH)", ...
        assert f"{attribute.coefficient} ({attribute.column})" in text
    for name in fits:
        assert (tmp_path / "figures" / f"fig7_{name.replace('/', '_')}.png").stat().st_size > 0
        # a fit that failed its checks says so in the report (this sparse table's fit does)
        assert all(f"- {name}: failed check: {failure}" in text for failure in summary[name]["failures"])
    parameters = parameter_table(fits)
    assert list(parameters.columns) == ["fit", "parameter", "estimate", "ci95_low", "ci95_high"]
    assert set(parameters["parameter"]) >= {attribute.coefficient for attribute in ATTRIBUTES}
    assert np.isfinite(parameters["estimate"]).all()
