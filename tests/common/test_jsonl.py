"""JSONL read and written one way: strict errors name file and line, a torn tail stops a log, writes are atomic."""

from __future__ import annotations

import json

import pytest

from ziya2lab.common.jsonl import JsonlError, append_jsonl, dumps_line, iter_jsonl, read_jsonl, write_jsonl

RECORDS = [{"text": "人民日报", "n": 1}, {"text": "plain", "n": 2}, {"nested": {"a": [1, 2]}}]


def test_round_trip_keeps_non_ascii_as_is(tmp_path):
    path = tmp_path / "a.jsonl"
    assert write_jsonl(path, iter(RECORDS)) == len(RECORDS)
    assert read_jsonl(path) == RECORDS
    assert "人民日报" in path.read_text(encoding="utf-8")
    assert dumps_line({"x": 1}) == '{"x": 1}\n'


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"a": 2}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_strict_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n', encoding="utf-8")
    with pytest.raises(JsonlError, match=rf"{path}:3: invalid JSON"):
        read_jsonl(path)


def test_a_line_that_is_not_an_object_is_an_error_in_both_modes(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    for mode in ("strict", "torn_tail"):
        with pytest.raises(JsonlError, match=rf"{path}:2: expected a JSON object, got list"):
            read_jsonl(path, on_bad_line=mode)


def test_torn_tail_stops_at_the_first_bad_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for record in RECORDS[:2]:
        append_jsonl(path, record)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"step": 3, "lo')  # a kill mid-write
    assert read_jsonl(path, on_bad_line="torn_tail") == RECORDS[:2]
    with pytest.raises(JsonlError, match=":3:"):
        read_jsonl(path)


def test_iteration_is_lazy_up_to_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\nnot json\n', encoding="utf-8")
    records = iter_jsonl(path)
    assert next(records) == {"a": 1}
    with pytest.raises(JsonlError):
        next(records)


def test_missing_file(tmp_path):
    assert read_jsonl(tmp_path / "absent.jsonl", missing_ok=True) == []
    with pytest.raises(FileNotFoundError):
        read_jsonl(tmp_path / "absent.jsonl")


def test_write_is_atomic_a_failing_writer_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.jsonl"
    write_jsonl(path, RECORDS)

    def failing():
        yield {"text": "new"}
        raise RuntimeError("producer failed mid-way")

    with pytest.raises(RuntimeError):
        write_jsonl(path, failing())
    assert read_jsonl(path) == RECORDS
    assert [entry.name for entry in tmp_path.iterdir()] == ["a.jsonl"]  # no temporary left behind


def test_append_writes_one_complete_line_per_record(tmp_path):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, {"step": 1})
    append_jsonl(path, {"step": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"step": 1}, {"step": 2}]
