"""Scaling-law fits on any table of runs: Chinchilla, Ziya2's data-centric law, our joint law, per-group power laws."""

from ziya2lab.scaling.fitting import FitResult, fit, fit_groups
from ziya2lab.scaling.laws import LAWS, get_law

__all__ = ["LAWS", "FitResult", "fit", "fit_groups", "get_law"]
