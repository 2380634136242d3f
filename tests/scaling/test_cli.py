"""The fitting app and the diagnostics around a fit: the README's command, bad input, per-group power laws,
identifiability warnings, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ziya2lab.scaling import fit, fit_groups
from ziya2lab.scaling.laws import get_law
from ziya2lab.scaling.recovery import ISSUE_CASE, synthetic_table
from ziya2lab.scaling.tables import read_table

ROOT = Path(__file__).parents[2]
CHINCHILLA = ROOT / "tests" / "fixtures" / "chinchilla_svg_extracted.csv"


def _run(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "experiments" / "fit_scaling.py"), *overrides], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_readme_command_gives_epochs_values(tmp_path: Path) -> None:
    """README.md's line, with only the bootstrap shortened and the output moved."""
    done = _run(f"input={CHINCHILLA.relative_to(ROOT)}", "law=chinchilla", "drop_highest_losses=5", "bootstrap=30",
                f"output={tmp_path}")
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "fit.json").read_text())
    assert record["points"] == 240 and record["ok"] and record["failures"] == []
    assert abs(record["params"]["alpha"] - 0.3473) < 0.002 and abs(record["params"]["beta"] - 0.3672) < 0.003
    assert abs(record["params"]["E"] - 1.8172) < 0.002  # unrounded, as fitted
    for method in ("bootstrap", "profile"):
        interval = record["intervals"][method]["alpha"]
        assert not interval["degenerate"] and interval["low"] < record["params"]["alpha"] < interval["high"]
    rows = pd.DataFrame(record["prediction_intervals"]["rows"])
    assert (rows["prediction_low"] <= rows["confidence_low"] + 1e-12).all()
    assert (rows["prediction_high"] >= rows["confidence_high"] - 1e-12).all()
    assert record["start_summary"]["converged"] >= 1 and record["start_summary"]["at_best"] >= 1
    assert abs(record["compute_optimal"]["a"] + record["compute_optimal"]["b"] - 1) < 1e-12
    assert record["compute_optimal"]["fit_ok"] is True
    assert (tmp_path / "fit.png").stat().st_size > 0
    assert "alpha" in done.stdout and "profile 95%" in done.stdout and "fit ok" in done.stdout


def test_readme_shows_the_epoch_command() -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "experiments/fit_scaling.py" in line)
    assert "law=chinchilla" in line and "drop_highest_losses=5" in line


@pytest.mark.slow
def test_a_failed_fit_is_printed_as_not_to_be_trusted(tmp_path: Path) -> None:
    table = tmp_path / "issue14.csv"
    synthetic_table(ISSUE_CASE, seed=0).to_csv(table, index=False)
    done = _run(f"input={table}", "law=ziya2", "grid=paper", "bootstrap=10", "profile=false", f"output={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert "fit NOT TO BE TRUSTED" in done.stdout and "FIT NOT TO BE TRUSTED: held-out log-RMSE" in done.stdout
    record = json.loads((tmp_path / "fit.json").read_text())
    assert not record["ok"] and record["intervals"]["bootstrap"]["alpha"]["degenerate"]
    assert "prediction_intervals" not in record and record["effective_data_multipliers"]["none"]


@pytest.mark.slow
def test_cli_rejects_an_unknown_key(tmp_path: Path) -> None:
    done = _run(f"input={CHINCHILLA}", "bootstraps=3", f"output={tmp_path}")
    assert done.returncode != 0 and "bootstraps" in done.stderr


def test_a_missing_table_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_runs.csv"
    with pytest.raises(FileNotFoundError, match=f"{missing}: no such table of runs"):
        read_table(missing)


@pytest.mark.parametrize("content", ["", "N,D,loss\n"])
def test_an_empty_table_is_named(tmp_path: Path, content: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(content)
    with pytest.raises(ValueError, match=f"{empty}: the table"):
        read_table(empty)


@pytest.mark.slow
def test_the_app_names_a_missing_input(tmp_path: Path) -> None:
    done = _run(f"input={tmp_path / 'nowhere.csv'}", f"output={tmp_path / 'out'}")
    assert done.returncode != 0 and f"{tmp_path / 'nowhere.csv'}: no such table of runs" in done.stderr


def _power_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for corpus, (exponent, floor) in {"clean": (0.3, 1.5), "noisy": (0.2, 2.0)}.items():
        for volume in np.geomspace(1e3, 1e7, 9):
            rows.append({"corpus": corpus, "V": volume,
                         "loss": (floor + 30 * volume**-exponent) * np.exp(rng.normal(0, 1e-3))})
    return pd.DataFrame(rows)


def test_per_group_power_laws_recover_each_curve() -> None:
    fits = fit_groups(_power_table(), by="corpus")
    assert abs(fits["clean"].params["beta"] - 0.3) < 0.02 and abs(fits["noisy"].params["beta"] - 0.2) < 0.02
    assert abs(fits["clean"].params["E"] - 1.5) < 0.05 and abs(fits["noisy"].params["E"] - 2.0) < 0.05


def test_rows_without_a_group_and_tiny_groups_are_named() -> None:
    table = _power_table()
    table.loc[4, "corpus"] = None
    with pytest.raises(ValueError, match=r"rows \[4\]"):
        fit_groups(table, by="corpus")
    with pytest.raises(ValueError, match="group corpus='lonely' has 1 rows"):
        fit_groups(pd.concat([_power_table(), pd.DataFrame([{"corpus": "lonely", "V": 1e4, "loss": 3.0}])],
                             ignore_index=True), by="corpus")


def test_few_distinct_volumes_and_bounds_are_flagged() -> None:
    table = _power_table()
    table = table[table["V"].isin(sorted(table["V"].unique())[:2])]
    result = fit(table, "power")
    assert any("only 2 distinct V" in message for message in result.warnings)
    flat = pd.DataFrame({"V": np.geomspace(1e3, 1e6, 8), "loss": 2.0})  # no decrease: β goes to its bound 0
    assert any("beta is at its bound" in message for message in fit(flat, "power").warnings)


def test_an_attribute_tied_to_few_corpora_is_flagged() -> None:
    rng = np.random.default_rng(0)
    rows = [{"corpus": corpus, "V": volume, "CH": ch, "RA": ra, "SIM": rng.uniform(0.1, 0.5), "loss": 2.0 + 1 / i}
            for corpus, ch, ra in (("a", 0.2, 0.9), ("b", 0.5, 0.3), ("c", 0.8, 0.6))
            for i, volume in enumerate(np.geomspace(1e3, 1e6, 6), start=1)]
    law = get_law("ziya2")
    from ziya2lab.scaling.fitting import identifiability_warnings

    messages = identifiability_warnings(law, pd.DataFrame(rows), np.ones(len(law.params)))
    assert any(message.startswith("CH is constant within each of only 3 corpora") for message in messages)
    assert any(message.startswith("RA is constant within each") for message in messages)
    assert not any(message.startswith("SIM is constant within") for message in messages)
