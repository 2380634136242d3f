"""rate_corpus end to end (the app and its errors) and the determinism of the corruption operators."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ziya2lab.attributes import make_levels
from ziya2lab.attributes.corruption import corrupt_coherence, corrupt_readability
from ziya2lab.attributes.rate import read_corpus
from ziya2lab.common.jsonl import write_jsonl
from ziya2lab.data.sources import iter_source
from ziya2lab.eval.heldout import load_test_sets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def real() -> list[dict]:
    return [*iter_source("lee_news", split="train", limit=30), *iter_source("peoples_daily", split="train", limit=30)]


def test_unknown_test_set_is_named_before_anything_is_built(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=r"'mmlu'.*known: en_prose"):
        load_test_sets(["code", "mmlu"], tmp_path)
    assert not any(tmp_path.iterdir())


def test_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.jsonl holds no documents"):
        read_corpus(empty)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"title": "no text field"}\nnot json\n')
    with pytest.raises(ValueError, match="2 malformed record"):
        read_corpus(broken)


def _factory_output(root: Path, clean: list[dict], other: list[dict]) -> Path:
    """A data-factory output directory as ``ziya2lab.data.factory`` lays it out (datatrove records)."""
    def records(docs: list[dict]) -> list[dict]:
        return [{"text": doc["text"], "id": doc["id"], "metadata": {"lang": doc["lang"]}} for doc in docs]

    write_jsonl(root / "stage1" / "00000.jsonl", records(clean + other))
    write_jsonl(root / "removed" / "rules" / "too_short" / "00000.jsonl", records(other))
    (root / "clean").mkdir(parents=True, exist_ok=True)
    if clean:
        write_jsonl(root / "clean" / "00000.jsonl", records(clean))
    (root / "stats.json").write_text("{}")
    return root


def test_a_factory_output_directory_is_rated_by_its_clean_shards_only(real: list[dict], tmp_path: Path) -> None:
    out = _factory_output(tmp_path / "factory", real[:5], real[5:12])
    documents, malformed = read_corpus(out)
    assert [doc["id"] for doc in documents] == [doc["id"] for doc in real[:5]] and not malformed


def test_a_missing_or_empty_corpus_is_an_error_naming_its_path(real: list[dict], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere: no such file or directory"):
        read_corpus(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"empty_factory \(a data-factory output: its clean/\) holds no"):
        read_corpus(_factory_output(tmp_path / "empty_factory", [], real[:3]))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty_dir holds no documents"):
        read_corpus(tmp_path / "empty_dir")


def test_corruption_operators_are_deterministic_given_the_seed(real: list[dict]) -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        out = []
        for i, doc in enumerate(real):
            donor = real[(i + 1) % len(real)]["text"]
            out.append(corrupt_coherence(doc["text"], doc["lang"], donor, random.Random(f"{seed}:{i}")))
            out.append(corrupt_readability(doc["text"], doc["lang"], random.Random(f"{seed}:{i}")))
        return out

    first = run(0)
    assert first == run(0)
    assert first != run(1)
    # the recorded operator is the ground truth: a document is marked corrupted exactly when its text changed
    for (text, operator), doc in zip(first[1::2], real, strict=True):
        assert (operator is not None) == (text != doc["text"]), operator


def test_make_levels_is_deterministic_given_the_seed(real: list[dict], tmp_path: Path) -> None:
    levels = {"CH": [0.5], "RA": [0.5]}
    first = make_levels(real, levels, {}, tmp_path / "a", seed=3)
    second = make_levels(real, levels, {}, tmp_path / "b", seed=3)
    other = make_levels(real, levels, {}, tmp_path / "c", seed=4)
    for a, b, c in zip(first, second, other, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
        if a.family != "base":
            assert a.path.read_bytes() != c.path.read_bytes()


def _run_app(*overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, str(REPO / "experiments" / "rate_corpus.py"), *overrides],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


@pytest.mark.slow
def test_rate_corpus_app_writes_attributes_json(real: list[dict], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "part0.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in real[:40]))
    pq.write_table(pa.Table.from_pylist([{"text": d["text"], "lang": d["lang"]} for d in real[40:]]),
                   corpus / "part1.parquet")
    run_dir = tmp_path / "run"
    done = _run_app(f"corpus={corpus}", "raters=[coherence,readability,similarity]", "test_sets=[code]",
                    f"test_sets_dir={tmp_path / 'test_sets'}", f"hydra.run.dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    ratings = json.loads((run_dir / "attributes.json").read_text())
    assert ratings["n_rated"] == ratings["n_documents"] == len(real)
    assert set(ratings["similarity"]) == {"code"}
    assert all(0.0 <= ratings[name] <= 1.0 for name in ("coherence", "readability"))
    assert "| coherence" in done.stdout
    failed = _run_app(f"corpus={corpus}", "test_sets=[code,mmlu]", f"test_sets_dir={tmp_path / 'test_sets'}",
                      f"hydra.run.dir={tmp_path / 'run2'}")
    assert failed.returncode != 0 and "unknown test set(s) 'mmlu'" in failed.stderr


@pytest.mark.slow
def test_rate_corpus_app_rates_a_factory_output_and_names_a_missing_path(real: list[dict], tmp_path: Path) -> None:
    out = _factory_output(tmp_path / "factory", real[:20], real[20:50])
    done = _run_app(f"corpus={out}", "raters=[coherence]", f"hydra.run.dir={tmp_path / 'run'}")
    assert done.returncode == 0, done.stderr[-3000:]
    ratings = json.loads((tmp_path / "run" / "attributes.json").read_text())
    assert ratings["n_documents"] == ratings["n_rated"] == 20 and ratings["n_malformed"] == 0
    missing = tmp_path / "no_such_corpus"
    failed = _run_app(f"corpus={missing}", f"hydra.run.dir={tmp_path / 'run2'}")
    assert failed.returncode != 0 and f"{missing}: no such file or directory" in failed.stderr
