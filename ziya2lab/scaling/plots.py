"""Fit figures, one implementation each for the CLI, the notebook and the study: the data with fitted curves,
the log-residuals, the bootstrap histograms (``plot_fit``) and the paper's Fig. 7 view (``plot_attribute_effects``).
A failed fit, or a degenerate bootstrap, is printed in red across the top of every figure drawn from it. Volumes are
drawn on a log axis; rows at V = 0 (the model before the corpus, which the Ziya2 and joint laws fit) are drawn as
crosses at the axis's left edge, half a decade below the smallest positive volume.
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


def _drawn_at(volumes: pd.Series | np.ndarray, smallest_positive: float) -> np.ndarray:
    """Where each volume is drawn on the log axis: itself, or the left edge for V = 0."""
    volumes = np.asarray(volumes, dtype=float)
    return np.where(volumes > 0, volumes, smallest_positive / np.sqrt(10))


def _smallest_positive(result: FitResult) -> float:
    volumes = result.table[_volume(result)]
    return float(volumes[volumes > 0].min())


def _scatter_volumes(axis: Axes, result: FitResult, rows: pd.DataFrame, values: np.ndarray, **style) -> None:
    """Scatter ``values`` against the rows' volumes, V = 0 rows as crosses at the left edge."""
    volume, smallest = _volume(result), _smallest_positive(result)
    at_zero = (rows[volume] <= 0).to_numpy()
    axis.scatter(rows[volume][~at_zero], values[~at_zero], s=10, alpha=0.7, **style)
    if at_zero.any():
        axis.scatter(_drawn_at(rows[volume][at_zero], smallest), values[at_zero], s=24, marker="x", **style)


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
    _scatter_volumes(axis, result, result.table, result.log_residuals())
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_xlabel(f"{volume} (×: {volume} = 0)" if (result.table[volume] <= 0).any() else volume)
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
    smallest = _smallest_positive(result)
    for colour, (name, rows) in zip(colours, groups, strict=True):
        _scatter_volumes(axes[0], result, rows, rows["loss"].to_numpy(), color=colour)
        positive = rows[volume][rows[volume] > 0]
        curve = pd.DataFrame({column: np.full(60, rows[column].median()) for column in result.law.columns})
        curve[volume] = np.geomspace(positive.min() if len(positive) else smallest, rows[volume].max(), 60)
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
        plot_bootstrap(result, axes[2])
    return _save(figure, result, title, path)


def plot_bootstrap(result: FitResult, axis: Axes) -> None:
    """Histograms of the bootstrap refits, each parameter standardised; a parameter whose interval is degenerate,
    or whose refits are not finite or do not vary, gets no histogram but a note saying why."""
    samples = result.bootstrap_samples
    notes = [f"degenerate: {result.bootstrap_degenerate}"] if result.bootstrap_degenerate else []
    drawn = 0
    for name in [] if notes else samples.columns:
        values = samples[name].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        interval = result.bootstrap_intervals.get(name)
        if interval is not None and interval.degenerate:
            notes.append(f"{name}: {interval.reason}")
        elif len(finite) < 2 or np.ptp(finite) <= 0:
            notes.append(f"{name}: {len(values) - len(finite)} refits not finite, the rest do not vary")
        else:
            axis.hist((finite - np.median(finite)) / finite.std(), bins=30, histtype="step", label=name)
            drawn += 1
    axis.set_title(f"bootstrap ({len(samples)} refits), standardised", fontsize=9)
    if drawn:
        axis.legend(fontsize=6)
    if notes:
        axis.text(0.02, 0.98, "\n".join(textwrap.shorten(note, 70) for note in notes),
                  transform=axis.transAxes, va="top", fontsize=6, color="red")


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
        curves = np.exp(result.log_predictions(thetas, grid)) if thetas is not None else None
        curves = None if curves is None else curves[np.isfinite(curves).all(axis=1)]
        if curves is not None and len(curves):
            axis.fill_between(grid[column], *np.percentile(curves, [2.5, 97.5], axis=0), color="tab:red",
                              alpha=0.2, label="95% bootstrap band")
        else:
            why = "; ".join(result.failures) or "no bootstrap, or no finite refit"
            axis.text(0.02, 0.02, textwrap.shorten(f"no bootstrap band: {why}", 90), transform=axis.transAxes,
                      fontsize=6, color="red")
        measured = measured_at_effect_grid(result, column)
        axis.scatter(measured[column], measured["loss"], s=14, alpha=0.7, label="runs (each test set)")
        axis.set_xlabel(f"{column} (measured)")
        axis.set_ylabel("test loss")
        axis.set_title(f"{column} rising, others at the base", fontsize=9)
        axis.legend(fontsize=7)
    return _save(figure, result, title or f"{result.law.name}: Fig. 7 view", path)
