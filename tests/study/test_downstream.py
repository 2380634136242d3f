"""The study's downstream step: task/metric columns at each run's final point, the report section with seed means
and decision accuracy (on synthetic eval tables), and, slow, two tiny trained runs evaluated end to end."""

from __future__ import annotations

import itertools
import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import FINAL_VOLUME, RunDir
from ziya2lab.eval.config import DownstreamConfig
from ziya2lab.eval.heldout import build_test_sets
from ziya2lab.eval.tasks import choice_task_name
from ziya2lab.study.base_models import BASE_MODEL_POINT
from ziya2lab.study.collect import collect
from ziya2lab.study.downstream import (
    LONG_COLUMNS,
    DownstreamResult,
    downstream_section,
    evaluate_downstream,
    with_downstream_columns,
)

TASK = "ziya2lab_mc_zh_news_cloze"
MODELS = {"small": 1_000, "large": 3_000}  # model -> N
CORPORA = {"base": 0.0, "CH_0.4": 0.1, "CH_0.8": 0.2, "positive_control": 0.3}  # corpus -> how much it hurts
SEEDS = (0, 1)
TEST_SETS = ("zh_news", "en_prose")


def _run_dir(root: Path, model: str, corpus: str, seed: int) -> str:
    return str(root / "runs" / f"{model}-{corpus}-{seed}")


def _results(root: Path) -> pd.DataFrame:
    """A study's results rows: each continuation at a branch (V 50) and at its end (V 100), each base model at V 0."""
    rows = []
    for model, corpus, seed, test_set in itertools.product(MODELS, CORPORA, SEEDS, TEST_SETS):
        harm = CORPORA[corpus] + 0.01 * seed - (0.5 if model == "large" else 0.0)
        for point, volume in (("branch@50", 50), (FINAL_VOLUME, 100)):
            rows.append({"model": model, "N": MODELS[model], "family": corpus.split("_")[0], "corpus": corpus,
                         "level": 0.0, "V": volume, "point": point, "seed": seed, "test_set": test_set,
                         "loss": 3.0 + harm + (0.1 if point != FINAL_VOLUME else 0.0),
                         "run_dir": _run_dir(root, model, corpus, seed)})
    for model, test_set in itertools.product(MODELS, TEST_SETS):
        rows.append({"model": model, "N": MODELS[model], "family": "base", "corpus": "base", "level": 0.0, "V": 0,
                     "point": BASE_MODEL_POINT, "seed": 0, "test_set": test_set, "loss": 3.5,
                     "run_dir": str(root / "runs" / f"{model}-pretrain")})
    return pd.DataFrame(rows)


def _metrics(model: str, corpus: str, seed: int) -> dict[str, float]:
    """prob_correct ordered like the loss at both sizes; acc ordered the other way at the larger size."""
    harm = CORPORA[corpus]
    return {"prob_correct": 0.5 - harm + 0.01 * seed, "margin": 0.1 - harm,
            "acc": 0.5 - harm if model == "small" else 0.2 + harm, "acc_norm": 0.4}


def _downstream(root: Path, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    runs = [(model, corpus, seed) for model, corpus, seed in itertools.product(MODELS, CORPORA, SEEDS)]
    rows = [{"run_dir": _run_dir(root, *run), "task": TASK, "test_set": "zh_news", "kind": "multiple_choice",
             "n": 40, "metric": metric, "value": value, "stderr": 0.05, "eval_wall_time_s": 1.5}
            for run in runs if run[1] not in skip for metric, value in _metrics(*run).items()]
    rows += [{"run_dir": str(root / "runs" / f"{model}-pretrain"), "task": TASK, "test_set": "zh_news",
              "kind": "multiple_choice", "n": 40, "metric": "prob_correct", "value": 0.25, "stderr": 0.05,
              "eval_wall_time_s": 1.5} for model in MODELS]
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def test_columns_hold_each_runs_value_at_its_final_point_only(tmp_path: Path) -> None:
    table = _results(tmp_path)
    downstream = _downstream(tmp_path, skip=("positive_control",))
    downstream["run_dir"] = [path.replace("/runs/", "/runs/./") for path in downstream["run_dir"]]  # same runs
    merged = with_downstream_columns(table, downstream)
    column = f"{TASK}/prob_correct"
    assert len(merged) == len(table) and merged[table.columns].equals(table)
    assert {column, f"{TASK}/acc", f"{TASK}/margin", f"{TASK}/acc_norm"} <= set(merged.columns)
    finals = merged[merged["point"] == FINAL_VOLUME]
    for row in finals.itertuples():
        expected = _metrics(row.model, row.corpus, row.seed)["prob_correct"]
        assert math.isnan(merged.loc[row.Index, column]) if row.corpus == "positive_control" else \
            merged.loc[row.Index, column] == pytest.approx(expected)
    assert merged.loc[merged["point"] == "branch@50", column].isna().all()
    assert (merged.loc[merged["point"] == BASE_MODEL_POINT, column] == 0.25).all()  # the base models' own record
    assert merged.loc[merged["point"] == BASE_MODEL_POINT, f"{TASK}/acc"].isna().all()  # not in their record


def test_no_downstream_rows_leave_the_table_as_it_is(tmp_path: Path) -> None:
    table = _results(tmp_path)
    assert with_downstream_columns(table, pd.DataFrame(columns=LONG_COLUMNS)).equals(table)


def test_branch_values_scored_in_process_are_kept_beside_the_final_ones(tmp_path: Path) -> None:
    table = _results(tmp_path)
    at_branch = table["point"] == "branch@50"
    table[f"{TASK}/acc"] = [0.3 if branch else math.nan for branch in at_branch]  # as collect reads branches.jsonl
    merged = with_downstream_columns(table, _downstream(tmp_path))
    assert (merged.loc[at_branch, f"{TASK}/acc"] == 0.3).all()
    assert merged.loc[merged["point"] == FINAL_VOLUME, f"{TASK}/acc"].notna().all()
    assert merged.loc[at_branch, f"{TASK}/margin"].isna().all()  # scored only where the branch record has it


def test_a_clash_or_a_repeated_metric_is_an_error(tmp_path: Path) -> None:
    table = _results(tmp_path)
    downstream = _downstream(tmp_path)
    with pytest.raises(ValueError, match="already has final-point values of the downstream columns"):
        with_downstream_columns(table.assign(**{f"{TASK}/acc": 1.0}), downstream)
    with pytest.raises(ValueError, match="twice"):
        with_downstream_columns(table, pd.concat([downstream, downstream.iloc[:1]]))


def _section(tmp_path: Path, downstream: pd.DataFrame) -> str:
    result = DownstreamResult(downstream, evaluated=sorted(set(downstream["run_dir"])))
    markdown, figure = downstream_section(tmp_path, _results(tmp_path), result, resamples=200)
    assert figure == tmp_path / "figures" / "downstream.png" and figure.stat().st_size > 0
    assert "![downstream](figures/downstream.png)" in markdown
    return markdown


def _decision(markdown: str, measure: str) -> str:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {TASK}") and f"| {measure} " in line)
    return line.split("|")[-2].strip()


def test_section_shows_seed_means_beside_the_loss_and_decision_accuracy(tmp_path: Path) -> None:
    markdown = _section(tmp_path, _downstream(tmp_path))
    assert f"### {TASK}" in markdown and "18 runs evaluated now, 0 reused" in markdown
    ch_small = next(line for line in markdown.splitlines() if line.startswith("| small ") and "CH_0.8" in line)
    # seeds 0 and 1: prob_correct 0.30 and 0.31, final loss 3.20 and 3.21 (mean ± sd over seeds)
    assert f"{0.305:.4f} ± {np.std([0.30, 0.31], ddof=1):.4f}" in ch_small
    assert f"{3.205:.4f} ± {np.std([3.20, 3.21], ddof=1):.4f}" in ch_small
    base_model = next(line for line in markdown.splitlines() if line.startswith("| small ") and "3.5000" in line)
    assert "0.2500" in base_model and "±" not in base_model  # the V = 0 row: one seed, its value alone
    assert _decision(markdown, "prob_correct").startswith("1.000 [")  # same order at both sizes
    assert _decision(markdown, "final loss").startswith("1.000 [")
    assert _decision(markdown, "acc").startswith("0.000 [")  # reversed at the larger size


def test_section_says_what_was_not_evaluated(tmp_path: Path) -> None:
    downstream = _downstream(tmp_path, skip=("CH_0.4", "CH_0.8", "positive_control"))
    result = DownstreamResult(downstream, reused=sorted(set(downstream["run_dir"])),
                              skipped={"runs/x": "evaluation failed: RuntimeError('boom')"},
                              unavailable={"gsm8k": "DatasetNotFoundError"})
    markdown, _ = downstream_section(tmp_path, _results(tmp_path), result, resamples=50)
    assert "0 runs evaluated now, 6 reused" in markdown
    assert "- not evaluated: runs/x: evaluation failed: RuntimeError('boom')" in markdown
    assert "- task unavailable offline: gsm8k: DatasetNotFoundError" in markdown
    assert _decision(markdown, "prob_correct").startswith("not measured: decision accuracy needs at least two")


def test_disabled_evaluation_runs_nothing_and_says_so(tmp_path: Path) -> None:
    result = evaluate_downstream([tmp_path / "never"], {}, DownstreamConfig(enabled=False))
    assert result.table.empty and not result.enabled and not result.skipped
    markdown, figure = downstream_section(tmp_path, _results(tmp_path), result)
    assert "Not run: `study.eval.enabled=false`" in markdown and figure is None


TINY = ["model=llama_100k", "tokenizer.vocab_size=1024", "train.seq_len=128", "train.batch_size=4", "logger=none",
        "train.max_steps=30", "train.eval_every_steps=30", "train.ckpt_every_steps=30", "data.eval_max_windows=4"]


@pytest.mark.slow
def test_two_trained_runs_are_evaluated_end_to_end(tmp_path: Path) -> None:
    """Two tiny runs (two seeds) through evaluate_downstream: eval.json written, reused on a re-run, columns at the
    final point of collect's table, a report section; an unfinished run and a broken checkpoint are reported."""
    runs = [RunDir(tmp_path / "runs" / f"seed{seed}") for seed in (0, 1)]
    for seed, run in enumerate(runs):
        process = subprocess.run([sys.executable, str(repo_root() / "experiments" / "train.py"),
                                  f"hydra.run.dir={run.path}", f"seed={seed}", *TINY],
                                 capture_output=True, text=True, cwd=repo_root(), timeout=1200)
        assert process.returncode == 0, process.stderr[-3000:]
    test_sets = build_test_sets(tmp_path / "test_sets", ["zh_news", "qa"], max_items=40)
    config = DownstreamConfig(tasks=[choice_task_name("zh_news_cloze"), choice_task_name("qa_sentiment")],
                              mc_max_items=12)
    unfinished = tmp_path / "runs" / "unfinished"
    unfinished.mkdir()

    generators = random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state()
    result = evaluate_downstream([*runs, unfinished], test_sets, config)
    assert random.getstate() == generators[0] and (np.random.get_state()[1] == generators[1]).all()
    assert torch.equal(torch.random.get_rng_state(), generators[2])  # a trainer evaluating in process keeps its own
    assert result.evaluated == [str(run.path) for run in runs] and result.reused == []
    assert list(result.skipped) == [str(unfinished)]
    assert set(result.table["task"]) == set(config.tasks) and set(result.table["test_set"]) == {"zh_news", "qa"}
    assert (result.table["n"] == 12).all()
    for run in runs:
        record = json.loads(run.eval.read_text())
        assert set(record["tasks"]) == set(config.tasks)
        assert 0 <= record["tasks"][config.tasks[0]]["metrics"]["prob_correct"] <= 1

    written = [run.eval.stat().st_mtime_ns for run in runs]
    again = evaluate_downstream(runs, test_sets, config)
    assert again.evaluated == [] and again.reused == [str(run.path) for run in runs]
    assert [run.eval.stat().st_mtime_ns for run in runs] == written
    assert again.table.equals(result.table)

    broken = RunDir(tmp_path / "runs" / "broken")
    shutil.copytree(runs[0].path, broken.path)
    next(broken.final.glob("*.safetensors")).write_bytes(b"not a checkpoint")
    failed = evaluate_downstream([broken], test_sets, DownstreamConfig(tasks=config.tasks, mc_max_items=11))
    assert failed.table.empty and failed.skipped[str(broken.path)].startswith("evaluation failed")
    shutil.rmtree(broken.path)

    table = with_downstream_columns(collect(tmp_path / "runs"), result.table)
    column = f"{config.tasks[0]}/prob_correct"
    finals = table[table["point"] == FINAL_VOLUME]
    assert finals[column].notna().all() and table.loc[table["point"] != FINAL_VOLUME, column].isna().all()
    markdown, figure = downstream_section(tmp_path, table, result, resamples=50)
    assert figure is not None and figure.exists()
    assert all(f"### {task}" in markdown for task in config.tasks)
