"""The learning-rate schedules and the run length, as pure functions of the step and the config."""

from __future__ import annotations

import itertools
import math

import pytest

from ziya2lab.train.config import DecayShape, Schedule, TrainConfig
from ziya2lab.train.schedule import (
    branch_cooldown_steps,
    cooldown_lr,
    decay_factor,
    learning_rate,
    sequences_per_step,
    total_steps,
    warmup_steps,
)

PEAK, MINIMUM = 1e-3, 1e-4


def _rates(schedule: Schedule, total: int = 100, **kwargs) -> list[float]:
    return [learning_rate(step, total, PEAK, MINIMUM, schedule, 0.05, **kwargs) for step in range(total)]


def test_warmup_rises_linearly_to_the_peak() -> None:
    assert warmup_steps(100, 0.05) == 5 and warmup_steps(100, 0.0) == 0 and warmup_steps(10, 0.01) == 1
    rates = _rates(Schedule.cosine)
    assert rates[:5] == pytest.approx([PEAK * k / 5 for k in range(1, 6)])


def test_cosine_falls_monotonically_towards_the_minimum() -> None:
    rates = _rates(Schedule.cosine)[5:]
    assert all(a >= b for a, b in itertools.pairwise(rates))
    assert rates[0] == pytest.approx(PEAK) and MINIMUM < rates[-1] < MINIMUM + 1e-6


def test_constant_holds_the_peak_after_warmup() -> None:
    assert set(_rates(Schedule.constant)[5:]) == {PEAK}


@pytest.mark.parametrize("shape", list(DecayShape))
def test_wsd_is_stable_then_decays_to_exactly_the_minimum(shape: DecayShape) -> None:
    rates = _rates(Schedule.wsd, decay_ratio=0.2, decay_shape=shape)
    assert set(rates[5:80]) == {PEAK}, "stable until the final 20% of steps"
    assert rates[80] < PEAK and rates[-1] == pytest.approx(MINIMUM)
    assert all(a >= b for a, b in itertools.pairwise(rates[80:]))


def test_decay_shapes_start_at_one_and_end_at_zero() -> None:
    for shape in DecayShape:
        assert decay_factor(0.0, shape) == pytest.approx(1.0) and decay_factor(1.0, shape) == pytest.approx(0.0)
        assert decay_factor(-1.0, shape) == decay_factor(0.0, shape) and decay_factor(2.0, shape) == 0.0
    assert decay_factor(0.25, DecayShape.sqrt) == pytest.approx(0.5)
    assert decay_factor(0.25, DecayShape.linear) == pytest.approx(0.75)


def test_a_branch_cooldown_is_a_complete_wsd_run() -> None:
    """A branch at step 80 with decay 0.2 cools for 20 steps: 20 / (80 + 20) is the run's own decay fraction."""
    assert branch_cooldown_steps(80, 0.2) == 20 and branch_cooldown_steps(1, 0.2) == 1
    rates = [cooldown_lr(k, 20, PEAK, MINIMUM, DecayShape.sqrt) for k in range(20)]
    assert rates[-1] == pytest.approx(MINIMUM) and rates[0] < PEAK


def test_run_length_is_max_steps_or_what_max_tokens_needs() -> None:
    assert sequences_per_step(TrainConfig(batch_size=8)) == 8
    assert sequences_per_step(TrainConfig(seq_len=128, global_batch_tokens=4096, batch_size=8)) == 32
    assert total_steps(TrainConfig(max_steps=120)) == 120
    tokens_per_step = 8 * 128
    assert total_steps(TrainConfig(max_steps=None, max_tokens=10_000)) == math.ceil(10_000 / tokens_per_step)
    assert total_steps(TrainConfig(max_steps=120, max_tokens=10_000)) == 10, "max_tokens comes first"


def test_a_max_tokens_that_max_steps_cannot_reach_is_refused_naming_both() -> None:
    with pytest.raises(ValueError, match=r"train\.max_tokens=2000000 needs 1954 steps .* train\.max_steps=120 "
                                         r"stops the run at 122880 tokens.*train\.max_steps=null"):
        total_steps(TrainConfig(max_steps=120, max_tokens=2_000_000, batch_size=8, seq_len=128))
    with pytest.raises(ValueError, match="both null"):
        total_steps(TrainConfig(max_steps=None, max_tokens=None))
