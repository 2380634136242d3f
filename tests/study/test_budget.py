"""The study's planned compute: cooldown branches are counted, FLOPs follow the model accounting."""

from __future__ import annotations

import json

import pytest

from ziya2lab.study.budget import budget_table, print_budget
from ziya2lab.study.sweep_file import study_config


@pytest.mark.slow
def test_the_mini_study_budget_counts_every_run_and_its_cooldowns(capsys: pytest.CaptureFixture[str]) -> None:
    config = study_config(["study=mini"])
    table, headline = budget_table(config)
    assert headline["runs"] == 2 + 2 * 6 * 2  # two base models, 2 sizes x 6 corpora x 2 seeds
    continuation = table[table["stage"] == "continuation"].iloc[0]
    # 16,384 tokens in 512-token steps; the branch at step 14 cools down for train.wsd_decay_tokens = 8 more steps
    assert continuation["processed_tokens"] == continuation["runs"] * (16_384 + 4_096)
    base = table[table["stage"] == "base model"]
    assert (base["processed_tokens"] == 32_768).all()
    assert headline["total_flops"] == pytest.approx(table["flops"].sum())
    print_budget(config)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"] == headline["runs"]
