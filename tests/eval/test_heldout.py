"""The held-out test-set builder writes its files through common.jsonl, byte for byte as before."""

from __future__ import annotations

import json
from pathlib import Path

from ziya2lab.common import jsonl
from ziya2lab.eval import heldout


def test_test_set_files_are_plain_utf8_jsonl(tmp_path: Path) -> None:
    paths = heldout.build_test_sets(tmp_path, ["qa"], max_items=5)
    for path in (paths["qa"], heldout.pool_path(paths["qa"])):
        records = jsonl.read_jsonl(path)
        expected = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        assert path.read_text(encoding="utf-8") == expected  # non-ASCII kept, one object per line, no indentation
    items = jsonl.read_jsonl(paths["qa"])
    assert len(items) == 5 and all("问：" in item["text"] for item in items)
    assert not hasattr(heldout, "read_jsonl")  # JSONL is read through common.jsonl only


def test_load_test_sets_builds_only_what_is_missing(tmp_path: Path) -> None:
    first = heldout.load_test_sets(["qa"], tmp_path)
    stamp = first["qa"].stat().st_mtime_ns
    again = heldout.load_test_sets(["qa"], tmp_path)
    assert again == first and first["qa"].stat().st_mtime_ns == stamp
