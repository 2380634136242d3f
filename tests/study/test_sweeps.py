"""Hydra multirun of the real trainer over two tiny configs, then collect and fit (lightning-hydra-template style)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ziya2lab.common.attributes import RUN_COLUMN
from ziya2lab.common.paths import repo_root
from ziya2lab.common.run_dir import CORPUS_ATTRIBUTES_FILE
from ziya2lab.data.sources import iter_source
from ziya2lab.scaling import fit
from ziya2lab.study.collect import RESULT_COLUMNS, collect

ROOT = repo_root()


def test_ordering_verdict_reads_the_intervals() -> None:
    from ziya2lab.study.analysis import ordering_verdict

    paper_like = ordering_verdict({"CH": (1.0, 0.8, 1.2), "RA": (1.1, 0.9, 1.3), "SIM": (0.1, 0.05, 0.2)})
    assert paper_like["holds"] and paper_like["ratio_min_ab_over_c"] == 10.0
    overlapping = ordering_verdict({"CH": (1.0, 0.1, 1.2), "RA": (1.1, 0.9, 1.3), "SIM": (0.5, 0.05, 0.6)})
    assert not overlapping["holds"] and "cannot tell" in overlapping["statement"]
    reversed_ = ordering_verdict({"CH": (0.0, 0.0, 0.0), "RA": (0.5, 0.4, 0.6), "SIM": (2.0, 1.9, 2.3)})
    assert not reversed_["holds"] and "SIM > RA" in reversed_["statement"] and "CH shows no" in reversed_["statement"]


def _corpus(directory: Path, source: str, coherence: float) -> Path:
    directory.mkdir(parents=True)
    with open(directory / "documents.jsonl", "w", encoding="utf-8") as handle:
        for document in iter_source(source, split="train", limit=60):
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
    attributes = {"corpus": directory.name, "family": "CH", "level": 1 - coherence, "coherence": coherence,
                  "readability": 0.9, "similarity": {"en_prose": 0.1 + coherence / 10, "zh_news": 0.05}}
    (directory / CORPUS_ATTRIBUTES_FILE).write_text(json.dumps(attributes))
    return directory / "documents.jsonl"


@pytest.mark.slow
def test_multirun_then_collect_then_fit(tmp_path: Path) -> None:
    first = _corpus(tmp_path / "corpora" / "news", "lee_news", 0.9)
    second = _corpus(tmp_path / "corpora" / "brown", "brown", 0.6)
    sweep_dir = tmp_path / "multirun"
    command = [
        sys.executable, str(ROOT / "experiments" / "train.py"), "-m",  # the alias of python -m ziya2lab.train
        "hydra/launcher=parallel", f"hydra.sweep.dir={sweep_dir}",
        "model=llama_100k", "data=files", f"data.components.0.sources.0.path={first},{second}",
        "tokenizer.vocab_size=400", "tokenizer.max_train_chars=60000",
        "train.seq_len=64", "train.batch_size=4", "train.max_steps=24", "train.schedule=wsd",
        "train.wsd_branch_at_tokens=[512,1024]", "train.eval_every_steps=24", "train.ckpt_every_steps=12",
        "train.threads=1", "data.eval_max_windows=2", "logger=wandb",
    ]
    process = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]

    table = collect(sweep_dir)
    assert list(table.columns) == [*RESULT_COLUMNS, "data.components.0.sources.0.path"]  # + the swept corpus
    assert sorted(table["data.components.0.sources.0.path"].unique()) == sorted([str(first), str(second)])
    assert table[RUN_COLUMN].nunique() == 2 and set(table["point"]) == {"branch@512", "branch@1024", "final"}
    assert len(table) == 2 * 3 * 2  # runs x volumes x test sets
    assert set(table["corpus"]) == {"news", "brown"} and set(table["model"]) == {"llama_100k"}
    assert sorted(table["CH"].unique()) == [0.6, 0.9]
    assert list((sweep_dir / "0").glob("wandb/offline-run-*")), "every run is logged to wandb (offline)"

    for run_id, rows in table.groupby(RUN_COLUMN):
        result = fit(rows.groupby("V", as_index=False)["loss"].mean(), "power", refine=8)
        assert result.converged and result.params["beta"] >= 0, run_id
