"""The collector on hand-made run directories: rows, attribute lookup and skipped runs (fast, no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ziya2lab.study.collect import RESULT_COLUMNS, collect
from ziya2lab.study.results import write_results


def _write_corpus(directory: Path, name: str, coherence: float, similarity: dict[str, float]) -> Path:
    directory.mkdir(parents=True)
    (directory / "documents.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    attributes = {"corpus": name, "family": "CH", "level": 0.3, "coherence": coherence, "readability": 0.9,
                  "similarity": similarity}
    (directory / "attributes.json").write_text(json.dumps(attributes))
    return directory / "documents.jsonl"


def _write_run(run_dir: Path, corpus_file: Path, finished: bool, seed: int = 0) -> None:
    run_dir.mkdir(parents=True)
    config = {"seed": seed, "data": {"components": [{"sources": [{"path": str(corpus_file)}]}]}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (run_dir / "metrics.jsonl").write_text(json.dumps({"step": 1, "tokens": 10, "loss": 5.0}) + "\n")
    (run_dir / ".hydra").mkdir()
    (run_dir / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": {"model": "llama_1m"}}}}))
    if finished:
        summary = {
            "tokens": 4000,
            "parameters": 1_500_000,
            "parameters_non_embedding": 200_000,
            "wall_time_s": 12.5,
            "eval": {"en_prose": 4.0, "zh_news": 5.0},
            "branches": [{"branch_at_tokens": 1000, "tokens": 1250, "eval/en_prose": 4.5, "eval/zh_news": 5.5}],
        }
        (run_dir / "summary.json").write_text(json.dumps(summary))


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
    assert set(table["run_id"]) == {"0"}
    assert [Path(run["run_dir"]).name for run in table.attrs["skipped"]] == ["1"]


def test_mixtures_get_no_attributes(tmp_path: Path) -> None:
    corpus = _write_corpus(tmp_path / "c", "c", 0.7, {"en_prose": 0.2})
    _write_run(tmp_path / "runs" / "a", corpus, finished=True)
    config = yaml.safe_load((tmp_path / "runs" / "a" / "config.yaml").read_text())
    config["data"]["components"].append({"sources": [{"path": str(corpus)}]})
    (tmp_path / "runs" / "a" / "config.yaml").write_text(yaml.safe_dump(config))
    table = collect(tmp_path / "runs")
    assert table["CH"].isna().all() and set(table["corpus"]) == {"unrated"}


def test_write_results_round_trips_parquet_and_csv(sweep: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "results.parquet"
    table = write_results(sweep, output)
    pd.testing.assert_frame_equal(pd.read_parquet(output), table, check_like=True)
    assert len(pd.read_csv(output.with_suffix(".csv"))) == len(table)


def test_empty_tree_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no finished runs"):
        write_results(tmp_path, tmp_path / "results.parquet")
