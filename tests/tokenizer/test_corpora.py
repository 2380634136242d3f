"""The tokenizer reads users' files through the project's one document reader, and stops on a malformed record."""

from __future__ import annotations

import gzip
import json

import pytest

from ziya2lab.common.jsonl import read_jsonl
from ziya2lab.tokenizer.corpora import iter_file_texts, write_source_jsonl


def test_jsonl_gz_and_txt_are_read_like_the_factory_and_the_trainer_read_them(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "人民"}\n\n{"text": "日报", "id": 7}\n', encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"body": "压缩"}) + "\n")
    (tmp_path / "c.txt").write_text("first line\nsecond line\n", encoding="utf-8")
    assert list(iter_file_texts(tmp_path / "a.jsonl")) == ["人民", "日报"]
    assert list(iter_file_texts(tmp_path / "b.jsonl.gz", text_field="body")) == ["压缩"]
    assert list(iter_file_texts(tmp_path / "c.txt")) == ["first line\nsecond line\n"]  # a text file is a document


def test_a_malformed_record_stops_with_its_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    texts = iter_file_texts(path)
    assert next(texts) == "ok"
    with pytest.raises(ValueError, match=rf"{path}:2: invalid JSON"):
        next(texts)
    path.write_text('{"text": "ok"}\n{"title": "no text"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:2: no string field 'text'"):
        list(iter_file_texts(path))


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.jsonl"):
        list(iter_file_texts(tmp_path / "nowhere.jsonl"))


def test_a_source_split_is_written_as_jsonl(tmp_path):
    path = write_source_jsonl("brown", "heldout", tmp_path / "eval" / "en.jsonl", limit=3)
    records = read_jsonl(path)
    assert len(records) == 3 and all(record["source"] == "brown" and record["text"] for record in records)
