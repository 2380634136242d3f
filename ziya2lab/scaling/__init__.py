"""Scaling-law fits on any table of runs: Chinchilla, Ziya2's data-centric law, our joint law, per-group power laws.

Every fit starts from a grid derived from its data, is checked (``FitResult.ok``, ``FitResult.failures``) and
gives intervals that say when they are degenerate (``Interval``).
"""

from ziya2lab.scaling.fitting import FitResult, fit, fit_groups
from ziya2lab.scaling.intervals import BoundTest, Interval
from ziya2lab.scaling.laws import LAWS, get_law

__all__ = ["LAWS", "BoundTest", "FitResult", "Interval", "fit", "fit_groups", "get_law"]
