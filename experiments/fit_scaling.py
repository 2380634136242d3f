"""Fit a scaling law to a table of runs and write fit.json (unrounded) plus plots; print parameters with CIs.

    python experiments/fit_scaling.py input=tests/fixtures/chinchilla_svg_extracted.csv law=chinchilla \\
        drop_highest_losses=5 bootstrap=4000 output=outputs/fit_scaling/chinchilla
    python experiments/fit_scaling.py input=outputs/attribute_scaling/default/results.parquet law=joint
    python experiments/fit_scaling.py input=multirun/train/2026-11-23/10-00-00 law=ziya2   # a sweep's run tree
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig

import ziya2lab.scaling.config  # noqa: F401  (registers fit_scaling_schema)
from ziya2lab.common.atomic import atomic_write_json
from ziya2lab.scaling import FitResult, fit
from ziya2lab.scaling.laws import ATTRIBUTES
from ziya2lab.scaling.plots import plot_attribute_effects
from ziya2lab.scaling.tables import read_table
from ziya2lab.study.analysis import effective_data_multipliers
from ziya2lab.study.results import write_results


def load(source: Path, drop_highest_losses: int) -> pd.DataFrame:
    """A table file, or a sweep directory: its results.parquet if collected, else its runs collected now."""
    if source.is_dir():
        collected = source / "results.parquet"
        if not collected.exists():
            write_results(source, collected)
        source = collected
    return read_table(source, drop_highest_losses)


def multipliers(result: FitResult, level: float) -> dict[str, dict[str, float]]:
    """Per attribute: effective data per token after moving it across its range in the data, over the mean's."""
    table = result.table
    base = {attribute: float(table[attribute].mean()) for attribute in ATTRIBUTES}
    spans = {attribute: float(table[attribute].max() - table[attribute].min()) for attribute in ATTRIBUTES}
    estimate = effective_data_multipliers(result.params, base, spans)
    record = {attribute: {"estimate": estimate[attribute], "span": spans[attribute]} for attribute in ATTRIBUTES}
    if result.bootstrap_samples is not None:
        sampled = pd.DataFrame([effective_data_multipliers(row, base, spans)
                                for row in result.bootstrap_samples.to_dict(orient="records")])
        tail = (1 - level) / 2 * 100
        for attribute in ATTRIBUTES:
            low, high = np.nanpercentile(sampled[attribute], [tail, 100 - tail])
            record[attribute] |= {"low": float(low), "high": float(high)}
    return record


def summary(result: FitResult, intervals: dict[str, tuple[float, float]], cfg: DictConfig) -> dict[str, Any]:
    record = result.to_dict() | {"input": cfg.input, "level": cfg.level,
                                 "intervals": {name: list(bounds) for name, bounds in intervals.items()}}
    if intervals:
        conf_low, conf_high, pred_low, pred_high = result.intervals(result.table, cfg.level)
        record["prediction_intervals"] = {
            "note": "confidence: bootstrap spread of the fitted curve; prediction: plus the residual quantiles, "
                    "where a new run's loss would fall",
            "rows": pd.DataFrame({"loss": result.table["loss"], "predicted": result.predict(result.table),
                                  "confidence_low": conf_low, "confidence_high": conf_high,
                                  "prediction_low": pred_low, "prediction_high": pred_high}).to_dict(orient="list")}
    if hasattr(result.law, "compute_optimal"):
        volume = "D" if "D" in result.law.columns else "V"
        compute = cfg.compute or 6 * float(result.table["N"].max() * result.table[volume].max())
        record["compute_optimal"] = {"compute": compute, **result.law.compute_optimal(result.params, compute)}
    if all(attribute in result.law.columns for attribute in ATTRIBUTES):
        record["effective_data_multipliers"] = multipliers(result, cfg.level)
    return record


@hydra.main(version_base="1.3", config_path="../conf", config_name="fit_scaling")
def main(cfg: DictConfig) -> None:
    table = load(Path(cfg.input), cfg.drop_highest_losses)
    result = fit(table, law=cfg.law, refine=cfg.refine)
    intervals = (result.bootstrap(cfg.bootstrap, seed=cfg.seed, refine=cfg.bootstrap_refine, level=cfg.level)
                 if cfg.bootstrap else {})
    output = Path(cfg.output)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output / "fit.json", summary(result, intervals, cfg))
    result.plot(output / "fit.png")
    if all(attribute in result.law.columns for attribute in ATTRIBUTES):
        plot_attribute_effects(result, output / "attribute_effects.png")
    rows = pd.DataFrame({"estimate": result.params})
    if intervals:
        rows[f"{cfg.level:.0%} low"] = [intervals[name][0] for name in rows.index]
        rows[f"{cfg.level:.0%} high"] = [intervals[name][1] for name in rows.index]
    print(f"{cfg.law} on {len(result.table)} rows of {cfg.input}: objective {result.objective:.6e}, "
          f"converged {result.converged}, {cfg.bootstrap} bootstrap refits")
    print(rows.to_string(float_format=lambda value: f"{value:.6g}"))
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"wrote {output / 'fit.json'} and plots")


if __name__ == "__main__":
    main()
