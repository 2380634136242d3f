"""Fit figures: data with fitted curves per group, log-residuals, and bootstrap histograms of every parameter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ziya2lab.scaling.fitting import FitResult

MAX_GROUPS = 12


def _groups(result: FitResult) -> tuple[str | None, list]:
    """Groups to draw one curve each: model size bins (log-spaced) for laws in N, else corpus or model."""
    table = result.table
    if "N" in result.law.columns and table["N"].nunique() > 1:
        edges = np.geomspace(table["N"].min(), table["N"].max() * 1.0001, min(8, table["N"].nunique()) + 1)
        bins = np.clip(np.digitize(table["N"], edges) - 1, 0, len(edges) - 2)
        return "N", [(float(np.sqrt(edges[b] * edges[b + 1])), table[bins == b]) for b in np.unique(bins)]
    for column in ("corpus", "model"):
        if column in table and 1 < table[column].nunique() <= MAX_GROUPS:
            return column, list(table.groupby(column))
    return None, [("all", table)]


def plot_fit(result: FitResult, path: str | Path) -> Path:
    table = result.table
    x_column = "D" if "D" in result.law.columns else "V"
    group, groups = _groups(result)
    panels = 3 if result.bootstrap_samples is not None else 2
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 4))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(groups)))
    for colour, (name, rows) in zip(colours, groups, strict=True):
        axes[0].scatter(rows[x_column], rows["loss"], s=10, color=colour, alpha=0.7)
        curve = pd.DataFrame({column: np.full(60, rows[column].median()) for column in result.law.columns})
        curve[x_column] = np.geomspace(rows[x_column].min(), rows[x_column].max(), 60)
        label = f"{group}≈{name:.3g}" if isinstance(name, float) else f"{group}={name}"
        axes[0].plot(curve[x_column], result.predict(curve), color=colour, linewidth=1, label=label)
    axes[0].set_xscale("log")
    axes[0].set_xlabel(x_column)
    axes[0].set_ylabel("loss")
    axes[0].set_title(f"{result.law.name}: data and fit")
    if group:
        axes[0].legend(fontsize=6)
    residuals = np.log(table["loss"].to_numpy()) - np.log(result.predict(table))
    axes[1].scatter(table[x_column], residuals, s=8, alpha=0.6)
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel(x_column)
    axes[1].set_ylabel("log L − log L̂")
    axes[1].set_title("residuals")
    if result.bootstrap_samples is not None:
        samples = result.bootstrap_samples
        standardised = (samples - samples.median()) / samples.std().replace(0, 1)
        for name in samples.columns:
            axes[2].hist(standardised[name], bins=30, histtype="step", label=name)
        axes[2].set_title(f"bootstrap ({len(samples)} refits), standardised")
        axes[2].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def plot_attribute_effects(result: FitResult, path: str | Path, points: int = 40) -> Path:
    """Ziya2's Fig. 7 view: predicted loss as each attribute rises over its range in the data, the others (and V,
    N) held at their medians; with the bootstrap's 95% band when the fit has been bootstrapped."""
    from ziya2lab.scaling.fitting import _to_theta
    from ziya2lab.scaling.laws import ATTRIBUTES

    table = result.table
    held = {column: float(table[column].median()) for column in result.law.columns}
    figure, axis = plt.subplots(figsize=(5.5, 4))
    for attribute in ATTRIBUTES:
        grid = pd.DataFrame({column: np.full(points, value) for column, value in held.items()})
        low, high = float(table[attribute].min()), float(table[attribute].max())
        grid[attribute] = np.linspace(low, high, points) if high > low else np.full(points, low)
        fraction = np.linspace(0, 1, points)  # position along the attribute's own range, for one shared axis
        line = axis.plot(fraction, result.predict(grid), label=f"{attribute} ({low:.2g}→{high:.2g})")[0]
        if result.bootstrap_samples is not None:
            curves = np.array([result.predict_with(_to_theta(result.law, row), grid)
                               for row in result.bootstrap_samples.to_dict(orient="records")])
            axis.fill_between(fraction, *np.nanpercentile(curves, [2.5, 97.5], axis=0), color=line.get_color(),
                              alpha=0.2)
    axis.set_xlabel("attribute, from its lowest to its highest value in the data")
    axis.set_ylabel("predicted loss")
    axis.set_title(f"{result.law.name}: loss as each attribute rises (others held)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
