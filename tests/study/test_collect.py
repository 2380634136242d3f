"""The collector on hand-made run directories: rows, attribute lookup and skipped runs (fast, no training)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE, BranchRecord, RunDir, RunSummary
from ziya2lab.study.collect import RESULT_COLUMNS, collect
from ziya2lab.study.results import write_results


def _write_corpus(directory: Path, name: str, coherence: float, similarity: dict[str, float]) -> Path:
    directory.mkdir(parents=True)
    (directory / "documents.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    attributes = {"corpus": name, "family": "CH", "level": 0.3, "coherence": coherence, "readability": 0.9,
                  "similarity": similarity}
    (directory / CORPUS_ATTRIBUTES_FILE).write_text(json.dumps(attributes))
    return directory / "documents.jsonl"


def _write_run(run_dir: Path, corpus_file: Path, finished: bool, seed: int = 0) -> None:
    run = RunDir(run_dir)
    run.write_config({"seed": seed, "data": {"components": [{"sources": [{"path": str(corpus_file)}]}]}})
    run.metrics.write_text(json.dumps({"step": 1, "tokens": 10, "loss": 5.0}) + "\n")
    run.hydra_dir.mkdir()
    (run.hydra_dir / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": {"model": "llama_1m"}}}}))
    if finished:
        branch = BranchRecord(branch_at_tokens=1000, branch_step=4, cooldown_steps=1, steps=5, tokens=1250,
                              final_train_loss=5.4, skipped_steps=0, eval={"en_prose": 4.5, "zh_news": 5.5})
        run.write_summary(RunSummary(
            status="completed", steps=16, total_steps=16, tokens=4000, loss_tokens=4000, tokens_per_step=250,
            seq_len=50, batch_size=5, parameters=1_500_000, parameters_non_embedding=200_000, flops_per_token=1.2e6,
            eval={"en_prose": 4.0, "zh_news": 5.0}, skipped_steps=0, wall_time_s=12.5, num_processes=1,
            precision="fp32", warmup_steps=1, branches=[branch]))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    corpus = _write_corpus(tmp_path / "corpora" / "ch_0.3", "ch_0.3", 0.7, {"en_prose": 0.2, "zh_news": 0.1})
    _write_run(tmp_path / "multirun" / "0", corpus, finished=True)
    _write_run(tmp_path / "multirun" / "1", corpus, finished=False)
    return tmp_path / "multirun"


def test_collect_makes_one_row_per_volume_and_test_set(sweep: Path) -> None:
    table = collect(sweep)
    assert list(table.columns) == RESULT_COLUMNS
    assert len(table) == 4  # (branch, final) x (en_prose, zh_news)
    final = table[table["point"] == "final"].set_index("test_set")
    assert final.loc["en_prose", "loss"] == 4.0 and final.loc["zh_news", "V"] == 4000
    branch = table[table["point"] == "branch@1000"].set_index("test_set")
    assert branch.loc["zh_news", "loss"] == 5.5 and branch.loc["zh_news", "V"] == 1250
    # SIM is the corpus's similarity to the row's own test set; CH/RA are the corpus's
    assert final.loc["en_prose", "SIM"] == 0.2 and final.loc["zh_news", "SIM"] == 0.1
    assert set(table["CH"]) == {0.7} and set(table["model"]) == {"llama_1m"} and set(table["N"]) == {200_000}


def test_unfinished_runs_are_reported_not_rows(sweep: Path) -> None:
    table = collect(sweep)
    assert set(table[RUN_COLUMN]) == {"0"}
    assert [Path(run["run_dir"]).name for run in table.attrs["skipped"]] == ["1"]


def test_mixtures_get_no_attributes(tmp_path: Path) -> None:
    corpus = _write_corpus(tmp_path / "c", "c", 0.7, {"en_prose": 0.2})
    _write_run(tmp_path / "runs" / "a", corpus, finished=True)
    run = RunDir(tmp_path / "runs" / "a")
    config = run.read_config()
    config["data"]["components"].append({"sources": [{"path": str(corpus)}]})
    run.write_config(config)
    table = collect(tmp_path / "runs")
    assert table["CH"].isna().all() and set(table["corpus"]) == {"unrated"}


def test_write_results_round_trips_parquet_and_csv(sweep: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "results.parquet"
    table = write_results(sweep, output)
    pd.testing.assert_frame_equal(pd.read_parquet(output), table, check_like=True)
    assert len(pd.read_csv(output.with_suffix(".csv"))) == len(table)


def test_nothing_to_collect_is_an_error_naming_the_path_and_why(tmp_path: Path, sweep: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'empty'}: nothing to collect: it holds no run directory")):
        (tmp_path / "empty").mkdir()
        write_results(tmp_path / "empty", tmp_path / "results.parquet")
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'missing'}: no such directory")):
        write_results(tmp_path / "missing", tmp_path / "results.parquet")
    with pytest.raises(NotADirectoryError, match=r"results\.parquet: not a directory"):
        (tmp_path / "results.parquet").write_text("")
        write_results(tmp_path / "results.parquet", tmp_path / "out.parquet")
    RunDir(sweep / "0").summary.unlink()
    with pytest.raises(ValueError, match=re.escape(f"{sweep}: nothing to collect: none of its 2 runs finished")):
        write_results(sweep, tmp_path / "results.parquet")


def test_swept_overrides_are_columns(sweep: Path, tmp_path: Path) -> None:
    """A multirun over train.lr=1e-3,3e-3: each run's swept value is a column; keys the runs share are not."""
    corpus = _write_corpus(tmp_path / "corpora" / "ch_0.5", "ch_0.5", 0.5, {"en_prose": 0.3, "zh_news": 0.2})
    _write_run(sweep / "2", corpus, finished=True)
    RunDir(sweep / "0").write_launch({"model": "llama_1m"}, ["model=llama_1m", "train.lr=1e-3", "seed=0",
                                                             "train.wsd_branch_at_tokens=[1000,2000]"])
    (RunDir(sweep / "2").hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(  # a run made by Hydra alone
        ["model=llama_1m", "train.lr=3e-3", "seed=0", "train.wsd_branch_at_tokens=[1000]"]))
    table = collect(sweep)
    assert list(table.columns) == [*RESULT_COLUMNS, "train.lr", "train.wsd_branch_at_tokens"]
    by_run = table.groupby(RUN_COLUMN).first()
    assert by_run.loc["0", "train.lr"] == 1e-3 and by_run.loc["2", "train.lr"] == 3e-3
    assert by_run.loc["2", "train.wsd_branch_at_tokens"] == "[1000]"
    write_results(sweep, tmp_path / "results.parquet")  # a table with swept columns is written as well


def test_an_unreadable_summary_is_skipped_with_the_reason(sweep: Path) -> None:
    RunDir(sweep / "1").summary.write_text(json.dumps({"tokens": 4000}))
    table = collect(sweep)
    assert set(table[RUN_COLUMN]) == {"0"}
    (skipped,) = table.attrs["skipped"]
    assert skipped["run_dir"].endswith("1") and "not a run summary" in skipped["reason"]
