"""The factory end to end on files: every record accounted for under fuzzed input, resume after a kill, formats."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ziya2lab.data.config import EvaluationConfig, FactoryConfig, InputConfig, OutputConfig, ScoringConfig
from ziya2lab.data.factory import run_factory, summary_table
from ziya2lab.data.labelling import RUBRIC
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.data.sources import iter_source
from ziya2lab.data.steps import LanguageFilter

GOOD_EN = [doc["text"] for doc in iter_source("lee_news", split="train", limit=12)]
GOOD_ZH = [doc["text"] for doc in iter_source("peoples_daily", split="train", limit=12)]


def _config(paths: list[Path], **kwargs) -> FactoryConfig:
    return FactoryConfig(input=InputConfig(sources={}, paths=[str(path) for path in paths]),
                         scoring=ScoringConfig(enabled=False),
                         output=kwargs.pop("output", OutputConfig(progress=False)), **kwargs)


def _balanced(stats: dict) -> bool:
    return stats["kept"] + sum(stats["removed"].values()) + stats["duplicates"] + stats["malformed"] == stats["input"]


def test_fuzzed_input_never_crashes_and_loses_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    good = [{"id": f"en{i}", "text": text} for i, text in enumerate(GOOD_EN)] + \
           [{"id": f"zh{i}", "text": text} for i, text in enumerate(GOOD_ZH)]
    lines = [json.dumps(record, ensure_ascii=False).encode() for record in good[:10]]
    lines += [b"{not json", b'{"id": "bad-utf8", "text": "caf\xe9 \xff\xfe"}', b'{"id": "no-text", "body": "x"}',
              b'["a", "list"]', json.dumps({"id": "empty", "text": ""}).encode(),
              json.dumps({"id": "huge", "text": "word " * 2_100_000}).encode(),  # 10 MB
              bytes(range(256)).replace(b"\n", b""), b"\x00\x01\x02binary\x03",
              json.dumps({"id": "lone-surrogate", "text": "ok \ud800 " + GOOD_EN[0]}).encode()]
    (raw / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with gzip.open(raw / "b.jsonl.gz", "wb") as handle:
        handle.write(b"\n".join(json.dumps(record, ensure_ascii=False).encode() for record in good[10:]) + b"\n")
    # cut short: its first line still decompresses, the rest is lost and counted as one malformed record
    (raw / "c.jsonl.gz").write_bytes(gzip.compress(b'{"id": "t", "text": "truncated"}\n' * 50)[:40])
    (raw / "d.txt").write_bytes(b"\xff\xfe not utf-8")
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [GOOD_EN[1], None]}), raw / "e.parquet")

    expected_malformed = {("a.jsonl", 11), ("a.jsonl", 12), ("a.jsonl", 13), ("a.jsonl", 14), ("a.jsonl", 17),
                          ("a.jsonl", 18), ("c.jsonl.gz", 2), ("d.txt", 0), ("e.parquet", 2)}
    result = run_factory(_config([raw]), tmp_path / "out")
    stats = result.stats
    malformed = {(Path(entry["file"]).name, entry["line"]) for entry in stats["malformed_records"]}
    assert malformed == expected_malformed
    assert stats["malformed"] == len(expected_malformed)
    # + empty, huge, lone-surrogate, p1 and the readable line of c.jsonl.gz
    assert stats["input"] == len(good) + 5 + len(expected_malformed)
    assert _balanced(stats)
    assert stats["removed"]["preprocess/empty"] == 1 and stats["removed"]["rules/too_long"] == 1
    assert stats["duplicates"] >= 2  # p1 and lone-surrogate repeat documents of a.jsonl
    table = summary_table(stats)
    assert f"{stats['input']:,}" in table and "malformed" in table


def test_traditional_chinese_becomes_simplified() -> None:
    from datatrove.data import Document

    from ziya2lab.data.config import PreprocessConfig

    step = LanguageFilter(PreprocessConfig())
    document = Document(text="這是一個關於經濟發展與環境保護的報導，記者在廣東採訪了許多農民和學者。", id="t")
    assert step.filter(document) is True
    assert document.metadata["lang"] == "zh"
    assert document.text == "这是一个关于经济发展与环境保护的报导，记者在广东采访了许多农民和学者。"


def _outputs(out: Path) -> dict[str, bytes]:
    return {str(path.relative_to(out)): path.read_bytes() for directory in ("clean", "removed")
            for path in sorted((out / directory).rglob("*")) if path.is_file()}


def test_resume_after_a_kill_gives_the_uninterrupted_output(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    records = [{"id": f"en{i}", "text": text} for i, text in enumerate(GOOD_EN)]
    records += [{"id": f"zh{i}", "text": text} for i, text in enumerate(GOOD_ZH)]
    records += [{"id": "copy", "text": GOOD_EN[3]}, {"id": "short", "text": "tiny"}]
    for shard in range(3):  # a file is read by one task
        (raw / f"{shard}.jsonl").write_text("".join(json.dumps(record, ensure_ascii=False) + "\n"
                                                   for record in records[shard::3]))
    config = _config([raw], tasks=3)
    whole = run_factory(config, tmp_path / "whole")

    killed = tmp_path / "killed"
    run_factory(config, killed)
    # the state a kill during stage one's task 1 leaves: no completion marker, a torn shard, no stage two
    os.remove(killed / "logs" / "stage1" / "completions" / "00001")
    torn = killed / "stage1" / "00001.jsonl"
    assert torn.stat().st_size > 0
    torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 3])
    shutil.rmtree(killed / "logs" / "stage2" / "completions")
    shutil.rmtree(killed / "clean")
    (killed / "stats.json").unlink()
    finished_task_0 = (killed / "stage1" / "00000.jsonl").stat().st_mtime_ns

    resumed = run_factory(config, killed)
    assert (killed / "stage1" / "00000.jsonl").stat().st_mtime_ns == finished_task_0  # task 0 was not redone
    assert _outputs(killed) == _outputs(tmp_path / "whole")
    for key in ("input", "kept", "removed", "duplicates", "malformed"):
        assert resumed.stats[key] == whole.stats[key]
    assert whole.stats["duplicates"] == 1 and _balanced(whole.stats)


def test_parquet_in_and_out_with_field_mapping_and_labels(tmp_path: Path) -> None:
    table = pa.table({"doc_id": [f"d{i}" for i in range(len(GOOD_EN))], "body": GOOD_EN,
                      "link": [f"https://news.example/{i}" for i in range(len(GOOD_EN))]})
    pq.write_table(table, tmp_path / "in.parquet")
    config = _config([tmp_path / "in.parquet"], output=OutputConfig(format="parquet", progress=False),
                     evaluation=EvaluationConfig(sheet_size=5, sheet_format="jsonl"))
    config.input.text_field, config.input.id_field, config.input.url_field = "body", "doc_id", "link"
    result = run_factory(config, tmp_path / "out")
    kept = [record for record in read_documents(result.corpus_path) if not isinstance(record, MalformedRecord)]
    assert len(kept) == result.stats["kept"] > 0
    assert all(record["id"].startswith("d") and record["metadata"]["lang"] == "en" for record in kept)
    assert all(record["metadata"]["url"].startswith("https://news.example/") for record in kept)

    sheet = Path(result.stats["labelling_sheet"])
    rows = [json.loads(line) for line in sheet.read_text().splitlines()]
    assert len(rows) == min(5, len(kept))
    for index, row in enumerate(rows):
        row.update(dict.fromkeys(RUBRIC, 0), toxic=int(index == 0))
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config.evaluation.labels_path = str(labels)
    rerun = run_factory(config, tmp_path / "out")
    assert rerun.stats["human_check"]["bad"] == 1 and rerun.stats["human_check"]["passed"] is False
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.png").exists()


def test_unknown_output_format_is_named(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"text": GOOD_EN[0]}) + "\n")
    with pytest.raises(ValueError, match=r"factory\.output\.format='csv'"):
        run_factory(_config([raw], output=OutputConfig(format="csv")), tmp_path / "out")
