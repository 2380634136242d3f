"""JSON Lines, read and written one way everywhere: UTF-8, one object per line, non-ASCII kept as is.

Readers differ only in what a bad line means, so that is the one choice a caller makes:
- ``strict`` (default): a bad line is an error naming the file and line, for files we wrote ourselves;
- ``torn_tail``: stop at the first bad line, for an append-only log whose last line a kill may have torn;
- user data that must account for every record goes through ``ziya2lab.data.readers`` instead, which reports each
  bad line as a ``MalformedRecord``.
Writers are atomic (a reader never sees half a file) unless appending to a log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from ziya2lab.common.atomic import atomic_file

OnBadLine = Literal["strict", "torn_tail"]


class JsonlError(ValueError):
    """A line of a JSONL file that is not a JSON object; the message names the file and line."""


def dumps_line(record: Mapping[str, Any]) -> str:
    """One record as a JSONL line (with its newline)."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def iter_jsonl(path: str | Path, on_bad_line: OnBadLine = "strict") -> Iterator[dict]:
    """The objects of ``path`` in order; blank lines are skipped."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                if on_bad_line == "torn_tail":
                    return  # a line torn by a kill mid-write: everything from it on is dropped
                raise JsonlError(f"{path}:{number}: invalid JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise JsonlError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            yield record


def read_jsonl(path: str | Path, on_bad_line: OnBadLine = "strict", missing_ok: bool = False) -> list[dict]:
    """Every object of ``path``; ``missing_ok`` gives ``[]`` for a file not yet written (a fresh run's log)."""
    if missing_ok and not Path(path).exists():
        return []
    return list(iter_jsonl(path, on_bad_line))


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` to ``path`` atomically; returns how many were written."""
    count = 0
    with atomic_file(path, "w") as handle:
        for record in records:
            handle.write(dumps_line(record))
            count += 1
    return count


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record to a log and flush it, so a kill loses at most the line being written."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(dumps_line(record))
        handle.flush()
