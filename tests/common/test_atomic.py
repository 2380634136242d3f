"""Atomic writes: a reader sees the old version or the complete new one, never a torn file or directory."""

from __future__ import annotations

import json

import pytest

from ziya2lab.common.atomic import atomic_directory, atomic_file, atomic_write_json, atomic_write_text


def test_atomic_file_replaces_on_success_and_keeps_the_old_on_failure(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    atomic_write_text(path, "old")  # parent directories are created
    with pytest.raises(ValueError), atomic_file(path) as handle:
        handle.write("half of the new")
        raise ValueError("killed mid-write")
    assert path.read_text() == "old"
    assert sorted(entry.name for entry in path.parent.iterdir()) == ["file.txt"]
    with atomic_file(path) as handle:
        handle.write("new")
    assert path.read_text() == "new"


def test_binary_mode(tmp_path):
    with atomic_file(tmp_path / "b.bin", "wb") as handle:
        handle.write(b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_atomic_write_json(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"a": 1, "path": tmp_path})  # non-JSON values go through str()
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1, "path": str(tmp_path)}


def test_atomic_directory_publishes_whole_or_not_at_all(tmp_path):
    target = tmp_path / "cache_entry"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
        assert not target.exists()
    assert (target / "a").read_text() == "1"

    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "a").write_text("2")
        raise RuntimeError("failed while building")
    assert (target / "a").read_text() == "1"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["cache_entry"]


def test_atomic_directory_replaces_an_existing_one(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target) as staging:
        (staging / "old").write_text("x")
    with atomic_directory(target) as staging:
        (staging / "new").write_text("y")
    assert sorted(entry.name for entry in target.iterdir()) == ["new"]
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["d"]  # the .old copy is gone


def test_keep_existing_lets_the_first_publisher_win(tmp_path):
    """Content-keyed caches: another process that published meanwhile wins, and this copy is discarded."""
    target = tmp_path / "entry"
    with atomic_directory(target, keep_existing=True) as staging:
        (staging / "who").write_text("first")
        with atomic_directory(target, keep_existing=True) as other:
            (other / "who").write_text("second")
    assert (target / "who").read_text() == "second"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["entry"]
