"""What an evaluation reports, read out of lm-eval's results: its metrics, DataDecide's continuous proxies for
multiple choice, flat ``task/metric`` columns for tables, and the trainer's token loss in bits per byte.

Continuous proxies (DataDecide, arXiv 2504.11393): with the choices' log-likelihoods ``ll_i`` (summed over each
choice's tokens, as lm-eval computes them for ``acc``) normalised over the choices, ``p_i = softmax(ll)_i``,
- ``prob_correct`` = ``p_gold``, the probability the model puts on the correct answer among the choices;
- ``margin`` = ``p_gold - max_{i != gold} p_i``, how far the correct answer is ahead of the best wrong one.
Both move smoothly with training long before accuracy leaves chance, which is what makes small runs rankable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

STDERR_SUFFIX = "_stderr"


def task_metrics(entry: Mapping[str, Any]) -> dict[str, float]:
    """lm-eval's ``results[task]`` as ``{metric: value}``; the default filter's ``,none`` is dropped, any other
    filter is kept as ``metric:filter``; values lm-eval could not compute (``"N/A"``) are left out."""
    metrics = {}
    for key, value in entry.items():
        metric, comma, filter_name = key.partition(",")
        if not comma or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        metrics[metric if filter_name == "none" else f"{metric}:{filter_name}"] = float(value)
    return metrics


def _members(name: str, groups: Mapping[str, list[str]]) -> list[str]:
    """The leaf tasks of ``name`` (itself if it is not a group)."""
    if name not in groups:
        return [name]
    return [leaf for member in groups[name] for leaf in _members(member, groups)]


def _gold_index(sample: Mapping[str, Any]) -> int | None:
    """The correct choice of a logged multiple-choice sample (lm-eval logs an index, a digit string, or the text)."""
    target = sample["target"]
    if isinstance(target, int | np.integer):
        return int(target)
    if isinstance(target, str) and target.strip().isdigit():
        return int(target.strip())
    continuations = [argument[1].strip() for argument in sample["arguments"]]
    return continuations.index(target.strip()) if isinstance(target, str) and target.strip() in continuations else None


def _choice_loglikelihoods(sample: Mapping[str, Any]) -> list[float] | None:
    """Per-choice log-likelihoods of a ranked-classification sample; ``None`` for any other kind of sample."""
    responses = sample.get("filtered_resps")
    if not isinstance(responses, list) or len(responses) < 2:
        return None
    values = []
    for response in responses:
        if not isinstance(response, list | tuple) or not response or not isinstance(response[0], int | float):
            return None
        values.append(float(response[0]))
    return values


def proxies_of(loglikelihoods: Iterable[float], gold: int) -> tuple[float, float]:
    """``(prob_correct, margin)`` of one item."""
    values = np.asarray(list(loglikelihoods), dtype=np.float64)
    probabilities = np.exp(values - values.max())
    probabilities /= probabilities.sum()
    wrong = np.delete(probabilities, gold)
    return float(probabilities[gold]), float(probabilities[gold] - wrong.max())


def choice_proxies(name: str, output: Mapping[str, Any]) -> tuple[dict[str, float], int]:
    """Mean ``prob_correct`` and ``margin`` (with standard errors) over the multiple-choice samples of ``name``
    (all its subtasks for a group), and how many samples they cover; ``({}, 0)`` for other kinds of task."""
    rows = []
    for member in _members(name, output.get("group_subtasks", {})):
        for sample in output.get("samples", {}).get(member, []):
            loglikelihoods = _choice_loglikelihoods(sample)
            gold = _gold_index(sample) if loglikelihoods is not None else None
            if loglikelihoods is not None and gold is not None and 0 <= gold < len(loglikelihoods):
                rows.append(proxies_of(loglikelihoods, gold))
    if not rows:
        return {}, 0
    table = np.asarray(rows)
    spread = table.std(axis=0, ddof=1) / math.sqrt(len(rows)) if len(rows) > 1 else np.full(2, math.nan)
    return {"prob_correct": float(table[:, 0].mean()), f"prob_correct{STDERR_SUFFIX}": float(spread[0]),
            "margin": float(table[:, 1].mean()), f"margin{STDERR_SUFFIX}": float(spread[1])}, len(rows)


def column_name(task: str, metric: str) -> str:
    """A results table's column for one metric of one task."""
    return f"{task}/{metric}"


def eval_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An ``eval.json`` record as long rows, one per (task, metric): ``task``, ``kind``, ``n``, ``metric``,
    ``value`` and ``stderr`` (NaN where lm-eval gave none)."""
    return [{"task": task, "kind": result["kind"], "n": result["n"], "metric": metric, "value": value,
             "stderr": result["metrics"].get(f"{metric}{STDERR_SUFFIX}", math.nan)}
            for task, result in record.get("tasks", {}).items()
            for metric, value in result["metrics"].items() if not metric.endswith(STDERR_SUFFIX)]


def eval_columns(record: Mapping[str, Any], with_stderr: bool = False) -> dict[str, float]:
    """An ``eval.json`` record as flat ``{"<task>/<metric>": value}`` columns for results tables."""
    return {column_name(task, metric): value
            for task, result in record.get("tasks", {}).items()
            for metric, value in result["metrics"].items()
            if with_stderr or not metric.endswith(STDERR_SUFFIX)}


def token_loss_to_bits_per_byte(loss_nats_per_token: float, n_tokens: int, n_bytes: int) -> float:
    """A mean token NLL (nats) as bits per UTF-8 byte of the text those tokens spell."""
    if n_tokens <= 0 or n_bytes <= 0:
        raise ValueError(f"bits per byte needs tokens and bytes, got {n_tokens} tokens and {n_bytes} bytes")
    return loss_nats_per_token * n_tokens / (n_bytes * math.log(2))


def format_table(record: Mapping[str, Any]) -> str:
    """One row per task: kind, n and its headline metrics (stderr columns left out), as a Markdown table."""
    import pandas as pd

    rows = [{"task": task, "kind": result["kind"], "n": result["n"],
             **{metric: value for metric, value in result["metrics"].items() if not metric.endswith(STDERR_SUFFIX)}}
            for task, result in record.get("tasks", {}).items()]
    table = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4f") if rows else "(no task scored)"
    missing = [f"- {task}: unavailable ({reason})" for task, reason in record.get("unavailable", {}).items()]
    return "\n".join([table, *missing])
