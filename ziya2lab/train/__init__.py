"""The accelerate-based trainer: ``run_training(cfg) -> summary`` writes one run directory."""

from ziya2lab.train.loop import run_training

__all__ = ["run_training"]
