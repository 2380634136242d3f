"""The held-out test-set builder writes its files through common.jsonl, byte for byte as before; the qa items are
balanced between the labels; sets an older builder wrote are rebuilt."""

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


def test_qa_items_hold_both_labels_in_turn(tmp_path: Path) -> None:
    items = jsonl.read_jsonl(heldout.build_test_sets(tmp_path, ["qa"], max_items=60)["qa"])
    labels = [item["text"].rpartition(heldout.QA_ANSWER)[2] for item in items]
    assert set(labels) == set(heldout.QA_LABELS.values())
    assert labels[:4] == ["正面", "负面", "正面", "负面"] and labels.count("正面") == labels.count("负面") == 30
    assert all(heldout.QA_LABELS[heldout.review_polarity(item)] == label for item, label in zip(items, labels,
                                                                                                strict=True))


def test_a_set_an_older_builder_wrote_is_rebuilt(tmp_path: Path) -> None:
    first = heldout.load_test_sets(["qa"], tmp_path)
    built = jsonl.read_jsonl(first["qa"])
    jsonl.write_jsonl(first["qa"], built[:3])
    (tmp_path / heldout.VERSIONS_FILE).write_text(json.dumps({"qa": heldout.TEST_SETS_VERSION - 1}))
    heldout.load_test_sets(["qa"], tmp_path)
    assert jsonl.read_jsonl(first["qa"]) == built
    assert json.loads((tmp_path / heldout.VERSIONS_FILE).read_text()) == {"qa": heldout.TEST_SETS_VERSION}
