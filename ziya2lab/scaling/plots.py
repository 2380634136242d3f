"""Fit figures, one implementation each for the CLI, the notebook and the study: the data with fitted curves,
the log-residuals, the bootstrap histograms (``plot_fit``) and the paper's Fig. 7 view (``plot_attribute_effects``).
A failed fit, or a degenerate bootstrap, is printed in red across the top of every figure drawn from it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ziya2lab.common.attributes import COLUMNS
from ziya2lab.scaling.multipliers import attribute_reference, effect_grid, measured_at_effect_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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


def _volume(result: FitResult) -> str:
    return "D" if "D" in result.law.columns else "V"


def _save(figure: Figure, result: FitResult, title: str | None, path: str | Path) -> Path:
    """Title the figure, with the fit's failures in red above everything else, and write it."""
    heading = [title] if title else []
    if not result.ok:
        heading.append(textwrap.shorten("FIT NOT TO BE TRUSTED: " + "; ".join(result.failures), 240))
    if heading:
        figure.suptitle("\n".join(heading), color="black" if result.ok else "red", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def plot_residuals(result: FitResult, axis: Axes) -> None:
    """log L − log L̂ against the volume (D or V), the one residual plot of every fit figure."""
    volume = _volume(result)
    axis.scatter(result.table[volume], result.log_residuals(), s=8, alpha=0.6)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_xlabel(volume)
    axis.set_ylabel("log L − log L̂")
    noise = result.diagnostics.get("noise_log_rmse")
    axis.set_title(f"residuals (held-out log-RMSE {result.diagnostics.get('heldout_log_rmse', np.nan):.2g}"
                   + (f", noise {noise:.2g})" if noise is not None else ")"), fontsize=8)


def plot_fit(result: FitResult, path: str | Path, title: str | None = None) -> Path:
    volume = _volume(result)
    group, groups = _groups(result)
    panels = 3 if result.bootstrap_samples is not None else 2
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.3))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(groups)))
    for colour, (name, rows) in zip(colours, groups, strict=True):
        axes[0].scatter(rows[volume], rows["loss"], s=10, color=colour, alpha=0.7)
        curve = pd.DataFrame({column: np.full(60, rows[column].median()) for column in result.law.columns})
        curve[volume] = np.geomspace(rows[volume].min(), rows[volume].max(), 60)
        label = f"{group}≈{name:.3g}" if isinstance(name, float) else f"{group}={name}"
        axes[0].plot(curve[volume], result.predict(curve), color=colour, linewidth=1, label=label)
    axes[0].set_xscale("log")
    axes[0].set_xlabel(volume)
    axes[0].set_ylabel("loss")
    axes[0].set_title(f"{result.law.name}: data and fit")
    if group:
        axes[0].legend(fontsize=6)
    plot_residuals(result, axes[1])
    if result.bootstrap_samples is not None:
        samples = result.bootstrap_samples
        standardised = (samples - samples.median()) / samples.std().replace(0, 1)
        for name in samples.columns:
            axes[2].hist(standardised[name], bins=30, histtype="step", label=name)
        axes[2].set_title(f"bootstrap ({len(samples)} refits), standardised")
        axes[2].legend(fontsize=6)
    return _save(figure, result, title, path)


def plot_attribute_effects(result: FitResult, path: str | Path, title: str | None = None, points: int = 50) -> Path:
    """The paper's Fig. 7 view (definitions in multipliers.py): one panel per attribute, the predicted loss as it moves
    over its family's range with the others at the clean base, the measured rows beside it, and the bootstrap's
    band when the fit has a bootstrap that is not degenerate."""
    reference = attribute_reference(result.table)
    thetas = result.bootstrap_thetas() if result.bootstrap_usable else None
    figure, axes = plt.subplots(1, len(COLUMNS), figsize=(4.2 * len(COLUMNS), 3.6), squeeze=False)
    for axis, column in zip(axes[0], COLUMNS, strict=True):
        grid = effect_grid(result, reference, column, points)
        axis.plot(grid[column], result.predict(grid), color="tab:red", label="fitted law")
        if thetas is not None:
            curves = np.array([result.predict_with(theta, grid) for theta in thetas])
            axis.fill_between(grid[column], *np.nanpercentile(curves, [2.5, 97.5], axis=0), color="tab:red",
                              alpha=0.2, label="95% bootstrap band")
        measured = measured_at_effect_grid(result, column)
        axis.scatter(measured[column], measured["loss"], s=14, alpha=0.7, label="runs (each test set)")
        axis.set_xlabel(f"{column} (measured)")
        axis.set_ylabel("test loss")
        axis.set_title(f"{column} rising, others at the base", fontsize=9)
        axis.legend(fontsize=7)
    return _save(figure, result, title or f"{result.law.name}: Fig. 7 view", path)
