"""Reading lm-eval's output: metrics, DataDecide's continuous proxies, flat columns, bits per byte."""

from __future__ import annotations

import math

import pytest

from ziya2lab.eval.metrics import (
    choice_proxies,
    eval_columns,
    eval_rows,
    format_table,
    proxies_of,
    task_metrics,
    token_loss_to_bits_per_byte,
)


def _sample(loglikelihoods: list[float], target: object) -> dict:
    return {"target": target, "arguments": [("ctx", f" choice {index}") for index in range(len(loglikelihoods))],
            "filtered_resps": [[value, False] for value in loglikelihoods]}


def test_proxies_of_one_item() -> None:
    probability, margin = proxies_of([math.log(0.5), math.log(0.3), math.log(0.2)], gold=0)
    assert probability == pytest.approx(0.5) and margin == pytest.approx(0.2)
    probability, margin = proxies_of([math.log(0.5), math.log(0.3), math.log(0.2)], gold=2)
    assert probability == pytest.approx(0.2) and margin == pytest.approx(-0.3)
    assert proxies_of([-1000.0, -1000.0], gold=1) == pytest.approx((0.5, 0.0))  # no underflow


def test_task_metrics_keeps_filters_and_drops_what_lm_eval_could_not_compute() -> None:
    entry = {"alias": "x", "acc,none": 0.5, "acc_stderr,none": 0.1, "bits_per_byte_stderr,none": "N/A",
             "exact_match,strict-match": 0.25, "sample_len": 7}
    assert task_metrics(entry) == {"acc": 0.5, "acc_stderr": 0.1, "exact_match:strict-match": 0.25}


def test_choice_proxies_cover_every_subtask_of_a_group() -> None:
    output = {"group_subtasks": {"group": ["a", "b"]},
              "samples": {"a": [_sample([math.log(0.6), math.log(0.4)], 0)],
                          "b": [_sample([math.log(0.6), math.log(0.4)], "1"), _sample([0.0, -1.0], " choice 0")]}}
    proxies, count = choice_proxies("group", output)
    assert count == 3
    assert proxies["prob_correct"] == pytest.approx((0.6 + 0.4 + 1 / (1 + math.exp(-1))) / 3)
    assert proxies["margin"] == pytest.approx((0.2 - 0.2 + (2 / (1 + math.exp(-1)) - 1)) / 3)
    assert choice_proxies("a", output)[1] == 1


def test_choice_proxies_ignore_tasks_that_are_not_ranked_classification() -> None:
    generated = {"samples": {"gen": [{"target": "42", "arguments": [("q", {})], "filtered_resps": ["42"]}]}}
    rolling = {"samples": {"bpb": [{"target": "text", "arguments": [("text",)], "filtered_resps": [-12.5]}]}}
    assert choice_proxies("gen", generated) == ({}, 0)
    assert choice_proxies("bpb", rolling) == ({}, 0)


def test_columns_and_table_of_a_record() -> None:
    record = {"tasks": {"t_bpb": {"kind": "bits_per_byte", "n": 3, "metrics": {"bits_per_byte": 2.0}},
                        "t_mc": {"kind": "multiple_choice", "n": 5,
                                 "metrics": {"acc": 0.4, "acc_stderr": 0.2, "prob_correct": 0.3}}},
              "unavailable": {"mmlu": "DatasetNotFoundError: offline"}}
    assert eval_columns(record) == {"t_bpb/bits_per_byte": 2.0, "t_mc/acc": 0.4, "t_mc/prob_correct": 0.3}
    assert eval_columns(record, with_stderr=True)["t_mc/acc_stderr"] == 0.2
    rows = eval_rows(record)
    assert [(row["task"], row["metric"], row["value"]) for row in rows] == [
        ("t_bpb", "bits_per_byte", 2.0), ("t_mc", "acc", 0.4), ("t_mc", "prob_correct", 0.3)]
    assert rows[1]["stderr"] == 0.2 and math.isnan(rows[2]["stderr"]) and rows[1]["kind"] == "multiple_choice"
    assert {row["n"] for row in rows} == {3, 5}
    table = format_table(record)
    assert "t_bpb" in table and "prob_correct" in table and "acc_stderr" not in table
    assert "mmlu: unavailable (DatasetNotFoundError: offline)" in table


def test_token_loss_in_bits_per_byte() -> None:
    assert token_loss_to_bits_per_byte(math.log(2), n_tokens=10, n_bytes=20) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="0 bytes"):
        token_loss_to_bits_per_byte(1.0, n_tokens=10, n_bytes=0)
