"""Learning-rate schedules as pure functions of the step, so resuming needs no scheduler state.

``wsd`` (warmup–stable–decay) holds the peak rate until the final ``decay_ratio`` of steps; a checkpoint from the
stable phase can be cooled down on its own (:func:`cooldown_lr`), so one run yields a loss at several data volumes.
"""

from __future__ import annotations

import math

from ziya2lab.train.config import DecayShape, Schedule, TrainConfig


def sequences_per_step(train: TrainConfig) -> int:
    """Sequences in one optimizer step, summed over ranks and accumulation."""
    return train.global_batch_tokens // train.seq_len if train.global_batch_tokens else train.batch_size


def total_steps(train: TrainConfig) -> int:
    """Optimizer steps of the run: ``max_steps`` or the steps ``max_tokens`` needs, whichever comes first.

    A ``max_tokens`` that ``max_steps`` stops short of is refused: the run would end early without saying so.
    """
    tokens_per_step = sequences_per_step(train) * train.seq_len
    if train.max_tokens is None:
        if train.max_steps is None:
            raise ValueError("train.max_steps and train.max_tokens are both null: set one of them")
        return train.max_steps
    needed = math.ceil(train.max_tokens / tokens_per_step)
    if train.max_steps is not None and train.max_steps < needed:
        raise ValueError(
            f"train.max_tokens={train.max_tokens} needs {needed} steps of {tokens_per_step} tokens, but "
            f"train.max_steps={train.max_steps} stops the run at {train.max_steps * tokens_per_step} tokens: set "
            f"train.max_steps=null (max_tokens decides) or train.max_steps>={needed}"
        )
    return needed


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return max(1, round(total_steps * warmup_ratio)) if warmup_ratio > 0 else 0


def decay_factor(progress: float, shape: DecayShape) -> float:
    """1 at the start of a decay, 0 at its end."""
    progress = min(max(progress, 0.0), 1.0)
    if shape is DecayShape.linear:
        return 1.0 - progress
    if shape is DecayShape.sqrt:
        return 1.0 - math.sqrt(progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate(
    step: int,
    total_steps: int,
    peak: float,
    minimum: float,
    schedule: Schedule,
    warmup_ratio: float,
    decay_ratio: float = 0.2,
    decay_shape: DecayShape = DecayShape.sqrt,
) -> float:
    """Rate for optimizer step ``step`` (0-based) of a ``total_steps`` run."""
    warmup = warmup_steps(total_steps, warmup_ratio)
    if step < warmup:
        return peak * (step + 1) / warmup
    if schedule is Schedule.constant:
        return peak
    if schedule is Schedule.cosine:
        progress = (step - warmup) / max(1, total_steps - warmup)
        return minimum + (peak - minimum) * decay_factor(progress, DecayShape.cosine)
    decay = max(1, round(total_steps * decay_ratio))
    decay_start = max(warmup, total_steps - decay)
    if step < decay_start:
        return peak
    return cooldown_lr(step - decay_start, total_steps - decay_start, peak, minimum, decay_shape)


def cooldown_lr(step_in_cooldown: int, cooldown_steps: int, peak: float, minimum: float, shape: DecayShape) -> float:
    """Rate during a cooldown of ``cooldown_steps`` steps; the last step lands exactly on ``minimum``."""
    progress = (step_in_cooldown + 1) / max(1, cooldown_steps)
    return minimum + (peak - minimum) * decay_factor(progress, shape)


def branch_cooldown_steps(branch_step: int, decay_ratio: float) -> int:
    """Cooldown length that makes a branch at ``branch_step`` a complete WSD run with the same decay fraction."""
    return max(1, round(branch_step * decay_ratio / (1.0 - decay_ratio)))
