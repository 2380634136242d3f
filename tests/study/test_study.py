"""The README's main job at miniature size, end to end: real text to fitted laws and a report (~2 minutes)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import find_run_dirs
from ziya2lab.study.collect import RESULT_COLUMNS


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("study")
    command = [sys.executable, str(repo_root() / "experiments" / "attribute_scaling.py"), "study=mini",
               "logger=none", f"hydra.run.dir={out}"]
    process = subprocess.run(command, capture_output=True, text=True, cwd=repo_root(), timeout=900)
    assert process.returncode == 0, process.stderr[-4000:]
    return out


@pytest.mark.slow
def test_results_table_has_every_column_and_run(study_dir: Path) -> None:
    table = pd.read_parquet(study_dir / "results.parquet")
    assert list(table.columns) == [*RESULT_COLUMNS, "data.components.0.sources.0.path"]  # + the swept corpus
    assert table[RUN_COLUMN].nunique() == 2 * 10  # 2 presets x (base + 3 families x 3 levels)
    assert set(table["test_set"]) == {"en_prose", "zh_news", "code"}
    assert table[["CH", "RA", "SIM", "loss"]].notna().all().all()
    assert table.groupby(RUN_COLUMN)["V"].nunique().eq(3).all()  # two WSD branches + the final


@pytest.mark.slow
def test_each_fit_ran(study_dir: Path) -> None:
    fits = json.loads((study_dir / "fits.json").read_text())
    assert set(fits) == {"ziya2/llama_100k", "ziya2/llama_300k", "joint"}
    for name, summary in fits.items():
        assert np.isfinite(summary["objective"]), name
        assert all(np.isfinite(value) for value in summary["params"].values()), name
        assert set(summary["intervals"]) == set(summary["params"]), name
        assert set(summary["multipliers"]) == {"CH", "RA", "SIM"}


@pytest.mark.slow
def test_report_references_existing_figures(study_dir: Path) -> None:
    report = (study_dir / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(images) >= 8
    for image in images:
        path = study_dir / image
        assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    assert "Does the paper's ordering" in report and "RA ≈ CH ≫ SIM" in report


@pytest.mark.slow
def test_rerun_skips_finished_work(study_dir: Path) -> None:
    command = [sys.executable, str(repo_root() / "experiments" / "attribute_scaling.py"), "study=mini",
               "logger=none", f"hydra.run.dir={study_dir}"]
    summaries = [run.summary for run in find_run_dirs(study_dir / "runs")]
    before = {path: path.stat().st_mtime for path in summaries}
    assert len(before) == 2 * 10
    process = subprocess.run(command, capture_output=True, text=True, cwd=repo_root(), timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    assert {path: path.stat().st_mtime for path in summaries} == before
