"""The study's own figures, drawn from the results table and the fits only (no number is typed in by hand).

A fit's Fig. 7 view and its residuals are the library's figures (scaling/plots.py), not drawn here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ziya2lab.common.attributes import COLUMNS as FAMILIES  # a family is named by the column it moves
from ziya2lab.scaling.multipliers import BASE_FAMILY


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def mean_over_test_sets(table: pd.DataFrame) -> pd.DataFrame:
    """Loss averaged over test sets, per (model, corpus, V): one curve per corpus instead of one per test set."""
    keys = ["model", "N", "corpus", "family", "level", "V"]
    return table.groupby(keys, dropna=False, as_index=False)["loss"].mean()


def loss_versus_volume(table: pd.DataFrame, path: Path) -> Path:
    """Rows: model sizes; columns: attribute families; one line per level, the clean base in black in each. Every
    curve starts at V = 0, the base model that every continuation extends (so V is on a linear axis)."""
    averaged = mean_over_test_sets(table)
    models = sorted(averaged["model"].unique(), key=lambda model: averaged.loc[averaged["model"] == model, "N"].iloc[0])
    figure, axes = plt.subplots(len(models), len(FAMILIES), figsize=(4.2 * len(FAMILIES), 3.2 * len(models)),
                                squeeze=False, sharex=True)
    for row, model in enumerate(models):
        of_model = averaged[averaged["model"] == model]
        base = of_model[of_model["family"] == BASE_FAMILY].sort_values("V")
        start = base[base["V"] == 0]
        for column, family in enumerate(FAMILIES):
            axis = axes[row][column]
            if not base.empty:
                axis.plot(base["V"], base["loss"], "o-", color="black", label="clean base")
            family_rows = of_model[of_model["family"] == family]
            levels = sorted(family_rows["level"].dropna().unique())
            colours = plt.cm.viridis(np.linspace(0.15, 0.85, max(1, len(levels))))
            for colour, level in zip(colours, levels, strict=False):
                curve = pd.concat([start, family_rows[family_rows["level"] == level]]).sort_values("V")
                axis.plot(curve["V"], curve["loss"], "o-", color=colour, label=f"{family} level {level:g}")
            axis.set_title(f"{model}: {family} family")
            axis.set_xlabel("continuation tokens V")
            axis.set_ylabel("test loss (mean over test sets)")
            axis.legend(fontsize=7)
    return _save(figure, path)


def coefficients_with_intervals(
    coefficients: Mapping[str, Mapping[str, tuple[float, float, float]]], path: Path
) -> Path:
    """Bars of A (CH), B (RA), C (SIM) per fit, with 95% bootstrap intervals as error bars.

    ``coefficients[fit name][attribute] = (estimate, low, high)``.
    """
    fits = list(coefficients)
    width = 0.8 / max(1, len(fits))
    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    positions = np.arange(len(FAMILIES))
    for index, fit_name in enumerate(fits):
        values = [coefficients[fit_name][attribute] for attribute in FAMILIES]
        estimates = np.array([value[0] for value in values])
        lower = estimates - np.array([value[1] for value in values])
        upper = np.array([value[2] for value in values]) - estimates
        axis.bar(positions + index * width, estimates, width, yerr=[np.maximum(lower, 0), np.maximum(upper, 0)],
                 capsize=3, label=fit_name)
    axis.set_xticks(positions + width * (len(fits) - 1) / 2, ["A (CH)", "B (RA)", "C (SIM)"])
    axis.set_ylabel("fitted coefficient")
    axis.set_title("Attribute coefficients with 95% bootstrap intervals")
    axis.legend(fontsize=7)
    return _save(figure, path)


def multipliers_with_intervals(multipliers: Mapping[str, tuple[float, float, float]], path: Path) -> Path:
    """Horizontal bars: effective-data multiplier per attribute, with its 95% interval; 1 = no effect."""
    names = list(multipliers)
    estimates = np.array([multipliers[name][0] for name in names])
    lower = estimates - np.array([multipliers[name][1] for name in names])
    upper = np.array([multipliers[name][2] for name in names]) - estimates
    figure, axis = plt.subplots(figsize=(6.5, 0.6 * len(names) + 1.5))
    axis.barh(names, estimates, xerr=[np.maximum(lower, 0), np.maximum(upper, 0)], capsize=3, color="tab:blue")
    axis.axvline(1.0, color="black", linewidth=0.8)
    axis.set_xlabel("effective-data multiplier (joint fit)")
    axis.set_title("Effective data per token, relative to the clean base")
    return _save(figure, path)
