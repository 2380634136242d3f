"""Structured config of the fitting app (``conf/fit_scaling.yaml``): unknown keys or wrong types fail by name."""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class FitScalingConfig:
    input: str = MISSING  # a .csv / .parquet table of runs, or a sweep results directory
    law: str = "chinchilla"  # chinchilla | ziya2 | joint | power
    grid: str = "data"  # start grid: "data" (derived from the table), or a literal one: "hoffmann", "paper"
    bootstrap: int = 200  # bootstrap resamples (0: no bootstrap)
    bootstrap_refine: int = 2  # grid starts per resample besides the full fit's optimum
    resampling: str = "residual"  # the bootstrap's: "residual" (redrawn around the fit, design kept) or "runs"
    profile: bool = True  # profile-likelihood intervals: the calibrated ones (docs/SCALING.md)
    calibration: str = "bootstrap"  # the profile's threshold: "bootstrap" (residual resamples), "F" or "chi2"
    calibration_resamples: int = 100  # residual resamples that calibrate the profile's threshold
    seed: int = 0
    refine: int | None = 64  # best-scored grid starts optimised (null: every start)
    drop_highest_losses: int = 0  # Epoch drops the 5 highest-loss Chinchilla points
    level: float = 0.95
    compute: float | None = None  # FLOP budget for compute_optimal (chinchilla, joint); null: 6·max(N)·max(D)
    output: str = "outputs/fit_scaling"


ConfigStore.instance().store(name="fit_scaling_schema", node=FitScalingConfig)
