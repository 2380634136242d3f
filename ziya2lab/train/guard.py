"""Stability guard: skip updates whose loss is non-finite or spikes far above the running mean.

A skipped update is counted and logged; too many in a row means the run has diverged, and the trainer stops with
a checkpoint and a clear message rather than burning compute on NaNs. Its state is part of the checkpoint, so a
resumed run judges spikes exactly as the uninterrupted run would.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


class TrainingDiverged(RuntimeError):
    """Raised after ``max_consecutive_skips`` bad steps in a row."""


@dataclass
class StabilityGuard:
    spike_factor: float
    window: int
    warmup_steps: int
    max_consecutive_skips: int
    recent: deque = field(default_factory=deque)
    good_steps: int = 0
    skipped_total: int = 0
    skipped_in_a_row: int = 0

    def judge(self, loss: float, grad_norm: float) -> str | None:
        """Reason to skip this update (``"non-finite"`` or ``"spike"``), or None to apply it."""
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            return "non-finite"
        if self.good_steps >= self.warmup_steps and self.recent:
            mean = sum(self.recent) / len(self.recent)
            if loss > self.spike_factor * mean:
                return "spike"
        return None

    def record(self, loss: float, skipped: bool) -> None:
        if skipped:
            self.skipped_total += 1
            self.skipped_in_a_row += 1
            return
        self.skipped_in_a_row = 0
        self.good_steps += 1
        self.recent.append(loss)
        while len(self.recent) > self.window:
            self.recent.popleft()

    @property
    def diverged(self) -> bool:
        return self.skipped_in_a_row >= self.max_consecutive_skips

    def state_dict(self) -> dict:
        return {
            "recent": list(self.recent),
            "good_steps": self.good_steps,
            "skipped_total": self.skipped_total,
            "skipped_in_a_row": self.skipped_in_a_row,
        }

    def load_state_dict(self, state: dict) -> None:
        self.recent = deque(state["recent"])
        self.good_steps = state["good_steps"]
        self.skipped_total = state["skipped_total"]
        self.skipped_in_a_row = state["skipped_in_a_row"]
