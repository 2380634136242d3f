"""The factory end to end on files: every record accounted for under fuzzed input, resume after a kill, formats."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.data.config import (
    EvaluationConfig,
    FactoryConfig,
    InputConfig,
    NearDuplicates,
    OutputConfig,
    PackagedSource,
    ScoringConfig,
)
from ziya2lab.data.dedup import DUPLICATE_REASONS, deduplicate
from ziya2lab.data.factory import EmptyInput, run_factory, summary_table
from ziya2lab.data.labelling import RUBRIC
from ziya2lab.data.output_guard import RECORD_FILE, OutputDirConflict
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.data.sources import iter_source
from ziya2lab.data.steps import LanguageFilter, PerplexityBucket

GOOD_EN = [doc["text"] for doc in iter_source("lee_news", split="train", limit=12)]
GOOD_ZH = [doc["text"] for doc in iter_source("peoples_daily", split="train", limit=12)]


def _config(paths: list[Path], **kwargs) -> FactoryConfig:
    return FactoryConfig(input=InputConfig(paths=[str(path) for path in paths]),
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


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def _clean_records(out: Path) -> dict[str, dict]:
    return {record["id"]: record for record in read_documents(out / "clean") if not isinstance(record, MalformedRecord)}


def test_user_input_replaces_the_packaged_sources_unless_mixing_is_asked(tmp_path: Path) -> None:
    raw = _write(tmp_path / "mine.jsonl", [{"id": f"m{i}", "text": text} for i, text in enumerate(GOOD_EN[:5])])
    config = _config([raw])  # the packaged sources keep their default list
    assert config.input.sources and config.input.packaged_sources() == []
    assert run_factory(config, tmp_path / "mine").stats["input"] == 5
    mixed = _config([raw])
    mixed.input.sources, mixed.input.mix_packaged_sources = [PackagedSource("lee_news", 3)], True
    assert run_factory(mixed, tmp_path / "mixed").stats["input"] == 8


def _stage_one_order(out: Path) -> list[Document]:
    return [Document(text=record["text"], id=record["id"], metadata=record["metadata"])
            for path in sorted((out / "stage1").glob("*.jsonl")) for record in read_jsonl(path)]


@pytest.mark.slow
@pytest.mark.parametrize("near", [NearDuplicates.simhash, NearDuplicates.minhash])
def test_sharded_stage_two_equals_one_pass_over_stage_one(tmp_path: Path, near: NearDuplicates) -> None:
    """Three tasks in every sharded stage give what one task reading all of stage one's output in order gives:
    the same perplexity buckets and the same duplicates (copies across shards and copies of copies)."""
    en = [doc["text"] for doc in iter_source("lee_news", split="train", limit=40)]
    zh = [doc["text"] for doc in iter_source("peoples_daily", split="train", limit=30)]
    records = [{"id": f"d{i}", "text": text, "url": f"https://x.example/{i % 50}"} for i, text in enumerate(en + zh)]
    records += [{"id": f"copy{i}", "text": records[i]["text"].upper()} for i in range(0, 70, 7)]
    records += [{"id": f"near{i}", "text": " ".join(records[i]["text"].split()[1:])} for i in range(1, 40, 6)]
    records += [{"id": f"copy-of-copy{i}", "text": records[-i]["text"]} for i in (1, 2)]
    for shard in range(3):
        _write(tmp_path / f"{shard}.jsonl", records[shard::3])
    config = FactoryConfig(input=InputConfig(paths=[str(tmp_path / "*.jsonl")]), tasks=3,
                           output=OutputConfig(progress=False, audit_per_rule=None))
    config.dedup.near = near
    result = run_factory(config, tmp_path / "out")

    bucket = PerplexityBucket(config.scoring, str(tmp_path / "out" / "scores"))
    stage_one = _stage_one_order(tmp_path / "out")
    passed = [document for document in stage_one if bucket.filter(document) is True]
    verdicts = deduplicate(passed, config.dedup)  # one task, the whole corpus in order
    expected = {document.id: document for document, verdict in zip(passed, verdicts, strict=True) if verdict is True}
    kept = _clean_records(tmp_path / "out")
    assert set(kept) == set(expected)
    assert all(kept[key]["metadata"] == expected[key].metadata and kept[key]["text"] == expected[key].text
               for key in kept)
    reasons = Counter(verdict[1] for verdict in verdicts if verdict is not True)
    assert result.stats["duplicates_by_kind"] == dict(reasons) and set(reasons) == set(DUPLICATE_REASONS)
    assert result.stats["removed"]["scoring/low_bucket"] == len(stage_one) - len(passed) > 0
    assert len(list((tmp_path / "out" / "clean").glob("*"))) == 3  # written by three tasks


def test_empty_or_missing_input_is_an_error_naming_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(EmptyInput, match=r"empty\.jsonl.*0 bytes"):
        run_factory(_config([empty]), tmp_path / "a")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n  \n\n")
    with pytest.raises(EmptyInput, match=r"blank\.jsonl: no documents"):
        run_factory(_config([blank]), tmp_path / "b")
    with pytest.raises(FileNotFoundError, match=r"absent\.jsonl"):
        run_factory(_config([tmp_path / "absent.jsonl"]), tmp_path / "c")
    with pytest.raises(FileNotFoundError, match=r"nothing/\*\.jsonl"):
        run_factory(_config([tmp_path / "nothing" / "*.jsonl"]), tmp_path / "d")
    nothing = FactoryConfig(input=InputConfig(sources=[]), scoring=ScoringConfig(enabled=False))
    with pytest.raises(EmptyInput, match="no input"):
        run_factory(nothing, tmp_path / "e")


def test_an_output_dir_is_reused_only_for_the_same_settings_and_inputs(tmp_path: Path) -> None:
    first = _write(tmp_path / "first.jsonl", [{"id": f"a{i}", "text": text} for i, text in enumerate(GOOD_EN[:6])])
    second = _write(tmp_path / "second.jsonl", [{"id": f"b{i}", "text": text} for i, text in enumerate(GOOD_ZH[:4])])
    out = tmp_path / "out"
    built = run_factory(_config([first]), out)
    shard = out / "stage1" / "00000.jsonl"
    written = shard.stat().st_mtime_ns
    again = run_factory(_config([first]), out)  # same settings and input: finished tasks are reused
    assert shard.stat().st_mtime_ns == written and again.stats["input"] == built.stats["input"] == 6

    with pytest.raises(OutputDirConflict, match=r"(?s)factory\.input\.paths.*second\.jsonl: not an input then"):
        run_factory(_config([second]), out)
    changed = _config([first])
    changed.dedup.near = NearDuplicates.minhash
    with pytest.raises(OutputDirConflict, match=r'factory\.dedup\.near: "simhash" then, "minhash" now'):
        run_factory(changed, out)
    first.write_text(first.read_text() + json.dumps({"id": "late", "text": GOOD_EN[7]}) + "\n")
    with pytest.raises(OutputDirConflict, match=r"first\.jsonl: changed"):
        run_factory(_config([first]), out)
    assert shard.stat().st_mtime_ns == written  # a refused run touches nothing

    rebuilt = run_factory(_config([second]), out, overwrite=True)
    assert rebuilt.stats["input"] == 4 and set(_clean_records(out)) <= {f"b{i}" for i in range(4)}
    (out / RECORD_FILE).unlink()  # factory output that does not say what built it
    with pytest.raises(OutputDirConflict, match=r"no factory_run\.json"):
        run_factory(_config([second]), out)
